// Package policydoc is the signed per-host policy an office server issues to an
// enrolled classified host: the document (the host's profile and the media that may
// be judged there), the envelope that carries it with an ed25519 signature, and the
// checks a host runs before it lets a policy decide anything.
//
// The server calls Sign; the host calls Verify (or VerifyNext against the policy in
// force) on every policy it receives and on every load of its local cache. Verify
// refuses, each with its own sentinel error: an envelope over MaxEnvelope bytes,
// trailing data or unknown fields in the envelope or the document, a key id or
// signature that is not the office's policy key, a document of another format, for
// another host, with a version below the one in force, or (VerifyNext) with the same
// version but other bytes.
//
// The package imports only media and the standard library: it sits beside policy,
// below the daemon, the CLI and the office server.
package policydoc
