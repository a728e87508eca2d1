// Package notify tells the people at the desktop, best effort, that mediagate blocked
// a medium and why, in their language: a desktop notification in every graphical user
// session on the host.
//
// It asks systemd to run notify-send inside each user's own session
// (`systemd-run --user --machine=USER@`), so the daemon needs no privilege to switch
// users and never connects to a user's session bus itself. A host without notify-send
// (Debian: libnotify-bin) or without user sessions gets no notification; enforcement
// does not depend on it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/catalog"
)

// Sender sends desktop notifications to the users with a session bus.
type Sender struct {
	// RunUser is where user runtime directories live, normally /run/user.
	RunUser string
	// Run runs a command and returns its standard output.
	Run func(ctx context.Context, name string, args ...string) ([]byte, error)
	// UserName maps a uid to a login name.
	UserName func(uid int) (string, error)
	// Available reports whether notify-send can be used at all.
	Available func() bool
	Log       *slog.Logger
	Timeout   time.Duration
}

// New returns a Sender for this system.
func New(log *slog.Logger) *Sender {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{
		RunUser: "/run/user",
		Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, name, args...).Output()
		},
		UserName: func(uid int) (string, error) {
			u, err := user.LookupId(strconv.Itoa(uid))
			if err != nil {
				return "", err
			}
			return u.Username, nil
		},
		Available: func() bool {
			_, err1 := exec.LookPath("notify-send")
			_, err2 := exec.LookPath("systemd-run")
			return err1 == nil && err2 == nil
		},
		Log:     log.With("component", "notify"),
		Timeout: 5 * time.Second,
	}
}

// sessions lists the uids of users with a session bus (/run/user/UID/bus), skipping
// system accounts below 1000.
func (s *Sender) sessions() []int {
	ents, err := os.ReadDir(s.RunUser)
	if err != nil {
		return nil
	}
	var uids []int
	for _, e := range ents {
		uid, err := strconv.Atoi(e.Name())
		if err != nil || uid < 1000 {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.RunUser, e.Name(), "bus")); err == nil {
			uids = append(uids, uid)
		}
	}
	return uids
}

// lang reads the user's language from their systemd user manager's environment.
func (s *Sender) lang(ctx context.Context, name string) string {
	out, err := s.Run(ctx, "systemctl", "--user", "--machine="+name+"@", "show-environment")
	if err != nil {
		return "en"
	}
	for _, line := range strings.Split(string(out), "\n") {
		for _, k := range []string{"LC_ALL=", "LC_MESSAGES=", "LANG="} {
			if v, ok := strings.CutPrefix(line, k); ok && v != "" {
				return catalog.Lang(v)
			}
		}
	}
	return "en"
}

// Send shows message (English, Chinese) to every desktop user, each in their language.
// It returns the users it could not reach; the caller only logs them.
func (s *Sender) Send(ctx context.Context, message [2]string) error {
	// Sessions first: a host without a desktop session (a server, the test guest) does
	// not look for the programs on every blocked plug.
	uids := s.sessions()
	if len(uids) == 0 || s.Available != nil && !s.Available() {
		return nil
	}
	var errs []error
	for _, uid := range uids {
		name, err := s.UserName(uid)
		if err != nil || name == "" || strings.ContainsAny(name, "@/ \t\n") {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, s.Timeout)
		lang := s.lang(cctx, name)
		title, body := catalog.T(lang, "notify.title"), message[0]
		if lang == catalog.ZH {
			body = message[1]
		}
		_, err = s.Run(cctx, "systemd-run", "--user", "--machine="+name+"@", "--quiet", "--collect",
			"notify-send", "--app-name=mediagate", "--urgency=critical", "--", title, body)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("notify %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
