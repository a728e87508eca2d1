//go:build !linux

package registry

import (
	"io"
	"os"
)

// headFile reads the first bytes of one file, opening it for each read.
type headFile struct{ path string }

func newHeadFile(path string) *headFile { return &headFile{path: path} }

// read reads the first len(b) bytes, or fewer when the file is shorter.
func (h *headFile) read(b []byte) (int, error) {
	f, err := os.Open(h.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return n, err
}

func (h *headFile) close() {}
