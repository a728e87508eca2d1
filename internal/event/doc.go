// Package event owns the kinds of audit rows and the typed details each kind
// carries. Every writer of the audit log builds one of these structs; every reader
// decodes a row's details with Decode or As, and finds the rows it wants by the Kind
// constants and by JSON paths derived from the struct tags (Path, Paths).
//
// The details bytes of every row are covered by the row's hash, so the encoding of
// these structs is part of the log's format: field names, omitempty and field order
// are those release 1 wrote (maps with sorted keys; the host profile and the
// numbering as structs). The database in testdata/registry/release-1.db, written by
// release 1 with a row of every kind, is decoded and re-encoded byte for byte by this
// package's tests. See docs/architecture.md, "Audit events", for adding a kind.
package event
