package identity

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// The disc sample key is a secret of the register: it decides which blocks of a disc
// the identity samples (see DiscSignature). It lives in a file next to the registry
// database, readable by root only, as 64 hex digits and a newline. Every host that
// identifies a disc against a register must use that register's key; a host with its
// own register has its own key (a later office policy will carry one key to all).

// DiscKeySize is the size of a generated sample key in bytes.
const DiscKeySize = 32

// DiscKeyPath returns the sample key file of the registry database at db.
func DiscKeyPath(db string) string { return db + ".disc-key" }

// LoadDiscKey reads the sample key file. A missing file gives an error wrapping
// fs.ErrNotExist; a file that group or others may read or write, or that does not
// hold 32 to 64 bytes of hex, is refused.
func LoadDiscKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("disc sample key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("disc sample key: %w", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("disc sample key %s: mode %v: must be a regular file readable by its owner only", path, st.Mode())
	}
	b, err := io.ReadAll(io.LimitReader(f, 2*64+2))
	if err != nil {
		return nil, fmt.Errorf("disc sample key: %w", err)
	}
	key, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) < MinDiscKeySize || len(key) > 64 {
		return nil, fmt.Errorf("disc sample key %s: not %d to 64 bytes of hex", path, MinDiscKeySize)
	}
	return key, nil
}

// EnsureDiscKey loads the sample key file, creating it with a new random key when
// there is none. The new file is written under a temporary name and linked into place,
// so two processes creating it at once both end up with the one that won.
func EnsureDiscKey(path string) ([]byte, error) {
	key, err := LoadDiscKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	fresh := make([]byte, DiscKeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("disc sample key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("create disc sample key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(hex.EncodeToString(fresh) + "\n")
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Link(tmp.Name(), path)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create disc sample key %s: %w", path, err)
		}
	} else {
		tmp.Close()
		return nil, fmt.Errorf("create disc sample key: %w", err)
	}
	return LoadDiscKey(path)
}

// DiscKeyFile returns a DiscKey source for Roots: it loads (creating if needed) the key
// file at path on first use and keeps the key once loaded; an error is returned
// again on every call until a load succeeds.
func DiscKeyFile(path string) func() ([]byte, error) {
	var mu sync.Mutex
	var key []byte
	return func() ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if key != nil {
			return key, nil
		}
		k, err := EnsureDiscKey(path)
		if err != nil {
			return nil, err
		}
		key = k
		return key, nil
	}
}
