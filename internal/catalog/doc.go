// Package catalog is the one message catalogue of mediagate: every text a person
// reads — errors, policy reasons, desktop notifications, names of kinds, levels,
// statuses, access modes and USB classes, table headers and the help of every
// command — in English and Chinese.
//
// Lower layers never hold prose: the registry and the service return errors with a
// code and arguments (MessageCode), policy returns reason codes, and the front-ends
// (cli, daemon, notify, the office server) render them here with T, Error and
// Decision. Arguments that are themselves words (a level, a status, a field name) are
// rendered in the reader's language too. The tests fail when a key lacks a language,
// when the format verbs of its two languages differ, or when a code that a lower
// layer can return has no entry.
package catalog
