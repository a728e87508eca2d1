package server

// This file mirrors the API of package internal/policydoc (the host side's signed
// policy, see the office protocol) until that package is in this branch: the
// document types and Sign, byte for byte as policydoc encodes and signs them. When
// policydoc is merged, this file becomes aliases of it:
//
//	type Document = policydoc.Document … ; var policySign = policydoc.Sign

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"mediagate/internal/media"
)

// policyFormat is the document format and the signature's domain-separation prefix.
const policyFormat = "mediagate-policy/1"

// maxEnvelope is the largest envelope a host reads.
const maxEnvelope = 32 << 20

// Document is what the server signs for one host.
type Document struct {
	Format   string    `json:"format"`
	Host     string    `json:"host"`
	Version  uint64    `json:"version"`
	IssuedAt time.Time `json:"issued_at"`
	Profile  Profile   `json:"profile"`
	Media    []Medium  `json:"media"`
	People   []Person  `json:"people,omitempty"`
}

// Person is the part of a person record the host uses.
type Person struct {
	Handle string `json:"handle"`
	Active bool   `json:"active"`
	Login  string `json:"login,omitempty"`
}

// Profile is the part of the host profile the daemon uses.
type Profile struct {
	Number       string            `json:"number"`
	Level        media.Level       `json:"level"`
	Mode         media.Mode        `json:"mode"`
	Department   string            `json:"department,omitempty"`
	LowerMedia   media.LowerMedia  `json:"lower_media,omitempty"`
	AllowClasses []string          `json:"allow_classes,omitempty"`
	AllowDevices []string          `json:"allow_devices,omitempty"`
	DevicePins   []media.DevicePin `json:"device_pins,omitempty"`
	Baseline     []string          `json:"baseline,omitempty"`
	VaultStation bool              `json:"vault_station,omitempty"`
}

// Medium is one medium the host may see, with the fields policy.Decide reads.
type Medium struct {
	Number       string         `json:"number"`
	Kind         media.Kind     `json:"kind"`
	Level        media.Level    `json:"level"`
	Access       media.Access   `json:"access"`
	Custodian    string         `json:"custodian"`
	Status       media.Status   `json:"status"`
	Identity     media.Identity `json:"identity"`
	Department   string         `json:"department,omitempty"`
	Holder       string         `json:"holder,omitempty"`
	DueAt        time.Time      `json:"due_at,omitzero"`
	AllowedHosts []string       `json:"allowed_hosts,omitempty"`
}

// envelope carries the document bytes and their signature.
type envelope struct {
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
	KeyID     string `json:"key_id"`
}

func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])[:16]
}

func fromHost(h media.Host) Profile {
	return Profile{Number: h.Number, Level: h.Level, Mode: h.Mode, Department: h.Department, LowerMedia: h.LowerMedia,
		AllowClasses: h.AllowClasses, AllowDevices: h.AllowDevices, DevicePins: h.DevicePins, Baseline: h.Baseline,
		VaultStation: h.VaultStation}
}

func fromMedium(m media.Medium) Medium {
	return Medium{Number: m.Number, Kind: m.Kind, Level: m.Level, Access: m.Access, Custodian: m.Custodian, Status: m.Status,
		Identity: m.Identity, Department: m.Department, Holder: m.Holder, DueAt: m.DueAt, AllowedHosts: m.AllowedHosts}
}

func fromPerson(p media.Person) Person {
	return Person{Handle: p.Handle, Active: p.Active, Login: p.Login}
}

// policySign encodes doc and signs it: policydoc.Sign.
func policySign(doc Document, priv ed25519.PrivateKey) ([]byte, error) {
	if doc.Format == "" {
		doc.Format = policyFormat
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("sign policy for %s: %w", doc.Host, err)
	}
	env := envelope{
		Payload:   base64.StdEncoding.EncodeToString(payload),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, signedMessage(payload))),
		KeyID:     keyID(priv.Public().(ed25519.PublicKey)),
	}
	return json.Marshal(env)
}

// signedMessage is what the signature covers.
func signedMessage(payload []byte) []byte {
	msg := make([]byte, 0, len(policyFormat)+1+len(payload))
	msg = append(msg, policyFormat...)
	msg = append(msg, '\n')
	return append(msg, payload...)
}
