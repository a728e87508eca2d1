// Package replay rebuilds the register from its audit log and compares it with the
// register's tables: every row of people, the host profile, the numbering, media,
// handovers and the year-end check-in must be what the log's rows make of it, and
// every row the log makes must be there. `audit verify` runs it after the hash
// chain: a chain proves that the log was not edited; replay proves that the register
// was not changed behind the log (a medium inserted with SQL, a lost medium set
// active again, rows of the log cut off together with their changes).
//
// The register is read only through the service (Service.ReadRegister: the log and
// every table in one snapshot), so the same check runs on every store.
//
// Rows of releases before 3 do not say everything the tables hold: the host's
// lower_media and device pins, and how a registration's number was allocated
// (number_seq). Those fields are taken from the table as they are and reported as
// unverifiable before release 3 (Report.Unverifiable) until a row of release 3
// rewrites them.
package replay
