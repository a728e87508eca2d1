//go:build !linux

package registry

import (
	"io"
	"os"
)

// readHead reads the first len(b) bytes of a file, or fewer when it is shorter.
func readHead(path string, b []byte) (int, error) {
	f, err := os.Open(path)
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

// headFile reads the first bytes of one file, opening it for each read.
type headFile struct{ path string }

func newHeadFile(path string) *headFile { return &headFile{path: path} }

func (h *headFile) read(b []byte) (int, error) { return readHead(h.path, b) }

func (h *headFile) close() {}
