package enforce

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Ejecting a blocked optical disc. A single CDROMEJECT is not enough: the kernel
// refuses it while anyone else holds the drive open (the sr driver also locks the door
// for every opener) or after someone locked the door (`eject -i on`). So Eject
//
//  1. takes away every user's access first: the allow markers go and udev applies its
//     rules again, which leaves the drive's node to root (rules/71-mediagate.rules);
//  2. makes the drive read-only and lazily unmounts the disc;
//  3. unlocks the door and ejects (Ops.Eject: the cdrom ioctls, then SCSI commands
//     straight to the drive), and checks that the disc is out (Ops.MediumPresent),
//     again with a growing pause (50 ms doubling to 1 s) until the pauses add up to
//     ejectWait (10 s).
//
// It returns nil only when the drive reports no disc; otherwise an *EjectError that says
// which steps did succeed (EjectActions).

// EjectError is Eject's error: Done lists the steps that did succeed, as audit actions
// ("read-only", "unmounted", and "ejected" when the disc is out but an earlier step
// failed).
type EjectError struct {
	Drive    string
	Done     []string
	Attempts int
	Err      error
}

func (e *EjectError) Error() string {
	done := "nothing done"
	if len(e.Done) > 0 {
		done = "done: " + strings.Join(e.Done, ", ")
	}
	return fmt.Sprintf("eject %s failed (%s): %v", e.Drive, done, e.Err)
}

func (e *EjectError) Unwrap() error { return e.Err }

// EjectActions turns the result of Eject into audit actions: "ejected" when it
// succeeded, else only the steps that succeeded.
func EjectActions(err error) []string {
	if err == nil {
		return []string{"ejected"}
	}
	var ee *EjectError
	if errors.As(err, &ee) {
		return slices.Clone(ee.Done)
	}
	return nil
}

// Eject takes users' access to the drive away, makes it read-only, unmounts the disc
// and ejects it, trying again until the drive reports no disc or ejectWait has passed.
func (e *Enforcer) Eject(t Target) error {
	ns, err := e.nodes(t)
	if err != nil {
		return &EjectError{Drive: filepath.Base(t.SysPath), Err: err}
	}
	drive := ns[0]
	node := drive.node
	if node == "" {
		return &EjectError{Drive: drive.name, Err: fmt.Errorf("%s: no device node", t.SysPath)}
	}
	var errs []error
	var done []string
	// 1. No new opens by users: without the marker udev gives the node to root alone.
	e.forget(ns)
	if err := writeAttr(filepath.Join(drive.dir, "uevent"), "change"); err != nil {
		errs = append(errs, fmt.Errorf("take access to %s away: %w", node, err))
	}
	// 2. Read-only and unmounted.
	if err := e.ops.SetReadOnly(node); err != nil {
		errs = append(errs, fmt.Errorf("read-only %s: %w", node, err))
	} else {
		done = append(done, "read-only")
	}
	targets, err := e.mountsOf(ns)
	if err != nil {
		errs = append(errs, err)
	} else if err := e.unmount(targets); err != nil {
		errs = append(errs, err)
	} else if len(targets) > 0 {
		done = append(done, "unmounted")
	}
	// 3. Out, for sure.
	var waited time.Duration
	pause := 50 * time.Millisecond
	var last error
	attempts := 0
	for {
		attempts++
		ejectErr := e.ops.Eject(node)
		present, perr := e.ops.MediumPresent(node)
		if perr == nil && !present {
			if attempts > 1 {
				e.log.Warn("disc ejected after retries", "drive", node, "attempts", attempts)
			}
			if len(errs) > 0 {
				return &EjectError{Drive: drive.name, Done: append(done, "ejected"), Attempts: attempts, Err: errors.Join(errs...)}
			}
			return nil
		}
		switch {
		case ejectErr != nil && perr != nil:
			last = fmt.Errorf("%w; drive status: %w", ejectErr, perr)
		case ejectErr != nil:
			last = ejectErr
		case perr != nil:
			last = fmt.Errorf("drive status: %w", perr)
		default:
			last = errors.New("the drive still reports a disc")
		}
		if waited+pause > e.ejectWait {
			break
		}
		e.sleep(pause)
		waited += pause
		pause = min(2*pause, time.Second)
	}
	errs = append(errs, fmt.Errorf("disc still in %s after %d attempts: %w", node, attempts, last))
	return &EjectError{Drive: drive.name, Done: done, Attempts: attempts, Err: errors.Join(errs...)}
}
