package server

// The signed policy's types and signing are package policydoc's (the host side
// verifies with it); the server assembles the same bytes from encoded entries
// (policies.go) and TestSealMatchesSign holds the two equal.

import (
	"crypto/ed25519"

	"mediagate/internal/media"
	"mediagate/internal/policydoc"
)

type (
	// Document is what the server signs for one host.
	Document = policydoc.Document
	// Profile is the part of the host profile the daemon uses.
	Profile = policydoc.Profile
	// Medium is one medium the host may see.
	Medium = policydoc.Medium
	// Person is a custodian or holder of a medium in the document.
	Person = policydoc.Person
)

const (
	policyFormat = policydoc.Format
	maxEnvelope  = policydoc.MaxEnvelope
)

func keyID(pub ed25519.PublicKey) string { return policydoc.KeyID(pub) }

func fromHost(h media.Host) Profile    { return policydoc.FromHost(h) }
func fromMedium(m media.Medium) Medium { return policydoc.FromMedium(m) }
func fromPerson(p media.Person) Person { return policydoc.FromPerson(p) }

// policySign encodes doc and signs it.
func policySign(doc Document, priv ed25519.PrivateKey) ([]byte, error) {
	return policydoc.Sign(doc, priv)
}

// signedMessage is what the signature covers.
func signedMessage(payload []byte) []byte {
	msg := make([]byte, 0, len(policyFormat)+1+len(payload))
	msg = append(msg, policyFormat...)
	msg = append(msg, '\n')
	return append(msg, payload...)
}
