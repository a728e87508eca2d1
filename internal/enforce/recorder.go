package enforce

import (
	"fmt"
	"sync"
	"time"
)

// Action is one thing the Recorder was asked to do.
type Action struct {
	Op     string // lock-usb-default, authorize, authorize-by-path, deauthorize, changed, read-only, detach, eject, release, forget
	Target string // devpath or kernel name
	At     time.Time
}

func (a Action) String() string { return a.Op + " " + a.Target }

// Recorder is the in-memory fake of Enforcer: it records every call and keeps the
// authorized state of USB devices, so AuthorizeUSB reports changes like the real one.
type Recorder struct {
	mu         sync.Mutex
	actions    []Action
	authorized map[string]bool
	// Fail, when set, makes the named operation fail (for tests of error paths).
	Fail map[string]error
	// OnAction, when set, is called with every action (benchmarks take their
	// timestamps here: it is where the real Enforcer would write to sysfs).
	OnAction func(Action)
	// Keep caps how many actions are kept (0: all).
	Keep int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{authorized: map[string]bool{}} }

func (r *Recorder) record(op, target string) error {
	a := Action{Op: op, Target: target, At: time.Now()}
	r.mu.Lock()
	if r.Keep > 0 && len(r.actions) >= r.Keep {
		r.actions = r.actions[:0]
	}
	r.actions = append(r.actions, a)
	err := r.Fail[op]
	cb := r.OnAction
	r.mu.Unlock()
	if cb != nil {
		cb(a)
	}
	return err
}

// Actions returns a copy of what was recorded.
func (r *Recorder) Actions() []Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Action(nil), r.actions...)
}

// Ops returns the recorded actions as "op target" strings.
func (r *Recorder) Ops() []string {
	var out []string
	for _, a := range r.Actions() {
		out = append(out, a.String())
	}
	return out
}

// Reset forgets the recorded actions (not the authorized state).
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.actions = nil
	r.mu.Unlock()
}

// SetAuthorized sets a device's authorized state as if the kernel had it so.
func (r *Recorder) SetAuthorized(devpath string, on bool) {
	r.mu.Lock()
	r.authorized[devpath] = on
	r.mu.Unlock()
}

// LockUSBDefault records the lock.
func (r *Recorder) LockUSBDefault() ([]string, error) {
	return []string{"usb1"}, r.record("lock-usb-default", "")
}

// AuthorizeUSB records a change of the authorized state, if it is one. Authorizing by
// path is recorded as "authorize-by-path", so tests see which way a device was let in.
func (r *Recorder) AuthorizeUSB(devpath string, on bool) (bool, error) {
	return r.authorize(devpath, on, "authorize-by-path")
}

func (r *Recorder) authorize(devpath string, on bool, onOp string) (bool, error) {
	r.mu.Lock()
	cur, known := r.authorized[devpath]
	r.mu.Unlock()
	if known && cur == on {
		return false, nil
	}
	op := "deauthorize"
	if on {
		op = onOp
	}
	if err := r.record(op, devpath); err != nil {
		return false, err
	}
	r.SetAuthorized(devpath, on)
	return true, nil
}

// AuthorizeExact is AuthorizeUSB for exactly the device u names: with a held directory
// and a stamp it checks the stamp through the directory like the real one
// (enforce.ErrDeviceChanged); without them it trusts the caller.
func (r *Recorder) AuthorizeExact(u USBDevice, on bool) (bool, error) {
	if u.Dir != nil && !u.Stamp.IsZero() {
		if now, err := u.Dir.USBStamp(); err != nil || now != u.Stamp {
			_ = r.record("changed", u.DevPath)
			return false, fmt.Errorf("authorize %s: %w", u.DevPath, ErrDeviceChanged)
		}
	}
	return r.authorize(u.DevPath, on, "authorize")
}

// USBAuthorized returns the recorded state (a device never written is unauthorized).
func (r *Recorder) USBAuthorized(devpath string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.authorized[devpath], nil
}

// ReadOnly records the call.
func (r *Recorder) ReadOnly(t Target) error { return r.record("read-only", t.SysPath) }

// Detach records the call.
func (r *Recorder) Detach(t Target) error { return r.record("detach", t.SysPath) }

// Eject records the call.
func (r *Recorder) Eject(t Target) error { return r.record("eject", t.SysPath) }

// Release records the call.
func (r *Recorder) Release(t Target) error { return r.record("release", t.SysPath) }

// Forget records the call.
func (r *Recorder) Forget(name string) { _ = r.record("forget", name) }

// ClearMarkers records the call.
func (r *Recorder) ClearMarkers() error { return r.record("clear-markers", "") }

func (r *Recorder) String() string { return fmt.Sprint(r.Ops()) }
