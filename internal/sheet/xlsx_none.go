//go:build mediagate_daemon

package sheet

import (
	"errors"
	"io"
)

// The daemon binary (cmd/mediagated, tag mediagate_daemon) reads no spreadsheets:
// it links no excelize, which keeps it small in memory. mediagate does.

var errNoXLSX = errors.New("xlsx: not in the daemon binary; use mediagate")

func readXLSX([]byte, Limits) (*Table, error) {
	return nil, &Error{Col: -1, Code: "file.bad-xlsx", Args: []any{errNoXLSX.Error()}}
}

// WriteXLSX is refused in the daemon binary.
func WriteXLSX(io.Writer, string, []string, [][]string) error { return errNoXLSX }
