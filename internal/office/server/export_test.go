package server

import "crypto/ed25519"

// SignForTest signs doc as policydoc.Sign does.
func SignForTest(doc Document, key ed25519.PrivateKey) ([]byte, error) { return policySign(doc, key) }
