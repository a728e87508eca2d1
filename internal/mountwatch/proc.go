package mountwatch

import (
	"bytes"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Process is what /proc tells about the process that mounted.
type Process struct {
	PID      int
	Comm     string
	UID      int // real uid, or UnknownID
	LoginUID int // audit login uid, or UnknownID when unset (4294967295)
}

// ReadProcess reads <procRoot>/<pid>/{comm,status,loginuid}. It returns an
// error when the process is gone.
func ReadProcess(procRoot string, pid int) (Process, error) {
	p := Process{PID: pid, UID: UnknownID, LoginUID: UnknownID}
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return p, fmt.Errorf("read process %d: %w", pid, err)
	}
	p.UID = parseStatusUID(status)
	if comm, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
		p.Comm = strings.TrimSuffix(string(comm), "\n")
	}
	if lu, err := os.ReadFile(filepath.Join(dir, "loginuid")); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(lu)), 10, 32); err == nil && n != 0xffffffff {
			p.LoginUID = int(n)
		}
	}
	return p, nil
}

// parseStatusUID returns the real uid from the "Uid:" line of
// /proc/<pid>/status, or UnknownID.
func parseStatusUID(status []byte) int {
	for len(status) > 0 {
		var line []byte
		line, status, _ = bytes.Cut(status, []byte{'\n'})
		rest, ok := bytes.CutPrefix(line, []byte("Uid:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 0 {
			return UnknownID
		}
		n, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return UnknownID
		}
		return int(n)
	}
	return UnknownID
}

// LookupUserName is the default user-name lookup (os/user).
func LookupUserName(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}

// attribute fills the "who" fields of e from a fanotify pid and what was
// read from /proc/<pid> when the event arrived (nil: the process was gone).
func attribute(e *Event, pid int, p *Process, lookup func(int) string) {
	e.PID = pid
	if p == nil {
		e.Attribution = AttributionFanotifyExited
		return
	}
	e.Attribution = AttributionFanotify
	e.Comm, e.UID, e.LoginUID = p.Comm, p.UID, p.LoginUID
	if lookup != nil {
		if e.UID != UnknownID {
			e.User = lookup(e.UID)
		}
		if e.LoginUID != UnknownID {
			e.LoginUser = lookup(e.LoginUID)
		}
	}
}
