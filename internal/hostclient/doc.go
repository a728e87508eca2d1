// Package hostclient is the classified host's side of the office: enrolment with the
// office server (internal/policydoc describes what the server signs), the state an
// enrolled host keeps (its key and certificate, the office CA, the policy public key,
// the server's address and the verified policy cache), the mutual-TLS client of the
// host endpoints, and the Follower that keeps the policy in force up to date.
//
// The daemon never waits on the network: it decides from the policy in force, which
// the Follower replaces when the server (long-poll GET /v1/host/policy) or the cache
// file offers a newer one that verifies. A refused policy gets an audit row and
// changes nothing; a cache file that does not verify is put back from the policy in
// force.
//
// Everything lives in one directory, Dir(dbPath): "office" beside the host's local
// database (/var/lib/mediagate/office), mode 0700, files 0600.
package hostclient
