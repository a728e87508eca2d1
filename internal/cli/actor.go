package cli

import (
	"os"
	"os/user"
	"strconv"

	"mediagate/internal/audit"
	"mediagate/internal/mountwatch"
)

// CurrentActor is who runs this process, as the kernel tells it: the real uid, and the
// person who logged in behind it (the audit login uid in <procRoot>/<pid>/loginuid,
// which sudo and su keep) when that is someone else. The environment (SUDO_USER and
// the like) is never consulted: whoever runs the command sets it.
func CurrentActor(procRoot string) audit.Actor {
	uid := os.Getuid()
	a := audit.Actor{UID: uid, User: userName(uid)}
	p, err := mountwatch.ReadProcess(procRoot, os.Getpid())
	if err == nil && p.LoginUID != mountwatch.UnknownID && p.LoginUID != uid {
		a.Login = userName(p.LoginUID)
	}
	return a
}

// userName is the account name of uid, or the number when it has none.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}
