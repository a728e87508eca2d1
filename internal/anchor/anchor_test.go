package anchor

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testKey is a fixed test key: the office's real key never leaves the office.
func testKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	seed, _ := hex.DecodeString(strings.Repeat("5a", 32))
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv
}

func sample() Ack {
	return Ack{Host: "0b7c8f7e-2f51-4a43-9a67-0d9e2c6f1a10", Seq: 42, Hash: strings.Repeat("ab", 32),
		Time: time.Date(2026, 12, 31, 17, 0, 0, 123456789, time.UTC)}
}

func TestSignVerify(t *testing.T) {
	pub, priv := testKey(t)
	a := Sign(sample(), priv)
	if err := a.Verify(pub); err != nil {
		t.Fatalf("verify: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if err := a.Verify(otherPub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("verify with another key = %v", err)
	}
	for name, edit := range map[string]func(*Ack){
		"seq":  func(a *Ack) { a.Seq++ },
		"hash": func(a *Ack) { a.Hash = strings.Repeat("cd", 32) },
		"host": func(a *Ack) { a.Host = "other" },
		"time": func(a *Ack) { a.Time = a.Time.Add(time.Millisecond) },
		"sig":  func(a *Ack) { a.Signature = "AAAA" + a.Signature[4:] },
	} {
		b := a
		edit(&b)
		if err := b.Verify(pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s edited: verify = %v", name, err)
		}
	}
	if err := a.Verify(pub[:16]); !errors.Is(err, ErrBadSignature) {
		t.Errorf("short key: %v", err)
	}
}

func TestFileRoundTrip(t *testing.T) {
	pub, priv := testKey(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "mediagate.db")
	if _, ok, err := Load(File(db)); ok || err != nil {
		t.Fatalf("no file: ok %v err %v", ok, err)
	}
	a := Sign(sample(), priv)
	if err := Save(File(db), a); err != nil {
		t.Fatal(err)
	}
	b, ok, err := Load(File(db))
	if !ok || err != nil || b.Verify(pub) != nil || b.Seq != 42 || !b.Time.Equal(a.Time) {
		t.Fatalf("load = %+v %v %v", b, ok, err)
	}
	st, _ := os.Stat(File(db))
	if st.Mode().Perm()&0o007 != 0 {
		t.Errorf("mode %v", st.Mode())
	}
	if err := os.WriteFile(KeyFile(db), []byte(hex.EncodeToString(pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, ok, err := LoadPublicKey(KeyFile(db))
	if !ok || err != nil || !k.Equal(pub) {
		t.Errorf("key = %x %v %v", k, ok, err)
	}
}

func TestParseRefuses(t *testing.T) {
	_, priv := testKey(t)
	good := string(Sign(sample(), priv).Marshal())
	for name, in := range map[string]string{
		"empty":     "",
		"truncated": good[:len(good)/2],
		"extra":     strings.Replace(good, `"seq"`, `"x": 1, "seq"`, 1),
		"trailing":  good + "{}",
		"zero seq":  strings.Replace(good, `"seq": 42`, `"seq": 0`, 1),
		"short":     strings.Replace(good, strings.Repeat("ab", 32), "abab", 1),
		"upper":     strings.Replace(good, strings.Repeat("ab", 32), strings.Repeat("AB", 32), 1),
		"no sig":    string(Ack{Host: "h", Seq: 1, Hash: strings.Repeat("ab", 32)}.Marshal()),
		"big":       strings.Repeat(" ", maxFile+1),
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Parse([]byte(good)); err != nil {
		t.Errorf("good: %v", err)
	}
}

// FuzzParse: the acknowledgement file comes from outside the host.
func FuzzParse(f *testing.F) {
	_, priv := testKey(f)
	f.Add(Sign(sample(), priv).Marshal())
	f.Add([]byte(`{"host":"h","seq":1,"hash":"` + strings.Repeat("0", 64) + `","signature":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Parse(b)
		if err != nil {
			return
		}
		if a.Seq < 1 || len(a.Hash) != 64 || a.Host == "" || a.Signature == "" {
			t.Fatalf("accepted %+v", a)
		}
		again, err := Parse(a.Marshal())
		if err != nil || again.Seq != a.Seq || again.Hash != a.Hash || again.Host != a.Host || !again.Time.Equal(a.Time) {
			t.Fatalf("round trip: %+v %v", again, err)
		}
	})
}
