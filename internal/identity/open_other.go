//go:build !unix

package identity

import "os"

func openDisc(path string) (*os.File, error) { return os.Open(path) }
