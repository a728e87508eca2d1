package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/policy"
	"mediagate/internal/registry"
	"mediagate/internal/udev"
)

// Audit rows are written in order through one queue (docs/daemon.md, "Audit rows").
// A decision's row is queued after its authorized write and committed once no other
// event waits (udev.Backlog), so that a burst of events commits its decisions' rows in
// one transaction: at once when nothing waits as it is queued (a blocked stick's row is
// its decision, as far as anyone outside can see), else in Run when the burst is done.
// A rescan commits its decisions together with its own row. Every other row (start, stop,
// lock, rescan, tamper, control, mounts) is committed at once, together with the rows
// queued before it, so the log keeps the order in which things happened.
//
// A crash between the authorized write and the commit loses the queued rows (at most
// one burst); the daemon decides every device present again at start and writes a
// row for each, so every device that is plugged in has its decision in the log.

// maxQueuedRows bounds the rows one transaction commits during a long burst.
const maxQueuedRows = 256

// batchStore is a Store that appends many rows in one transaction
// (*registry.Store).
type batchStore interface {
	RecordEvents(ctx context.Context, rows []registry.EventRow) error
}

// RecordEvents appends rows through the local register, in one transaction when it
// can.
func (s *PolicyStore) RecordEvents(ctx context.Context, rows []registry.EventRow) error {
	return writeRows(ctx, s.Local, rows)
}

// record appends one audit row, with every row queued before it, retrying briefly
// when the database is busy; rows being written are finished even when the daemon is
// told to stop.
func (d *Daemon) record(ctx context.Context, kind event.Kind, medium string, details any) error {
	err := d.recordRow(ctx, kind, medium, details)
	d.auditRescan(ctx)
	return err
}

// recordRow is record without the rescan a turned audit state asks for: for the mount
// log, whose goroutine must not wait for a rescan that unmounts (the next event or
// control call runs it).
func (d *Daemon) recordRow(ctx context.Context, kind event.Kind, medium string, details any) error {
	d.rowsMu.Lock()
	defer d.rowsMu.Unlock()
	d.rows = append(d.rows, registry.EventRow{Kind: kind, Medium: medium, Details: details})
	return d.commitRows(ctx)
}

// recordLater queues one audit row of a decision (with d.work held, as every decision
// is made) and commits the queue at once when no other event waits and no rescan is
// under way: the row then reaches the log before anything else is done about the
// decision (its log line, its notification). Otherwise flushRows (or the next record)
// commits it — except the row of a blocked decision outside a rescan, which is
// committed at once even when events wait (the kernel's bind of the device follows its
// add at once), unless another was committed so within aloneGap: a device the kernel
// holds unauthorized gets no authorized write, so its row is all there is of the
// decision, and it should not wait for the events behind it; in a storm of blocked
// devices the rows are still committed together. Rows are committed whatever the
// context of the event (commitRows), so none is taken.
func (d *Daemon) recordLater(kind event.Kind, medium string, details any) {
	d.rowsMu.Lock()
	d.rows = append(d.rows, registry.EventRow{Kind: kind, Medium: medium, Details: details})
	d.rowsMu.Unlock()
	if d.scan != nil {
		return
	}
	if !d.backlog() || d.commitAlone(kind, details) {
		d.flushRows(context.Background())
	}
}

// aloneGap is the least time between two blocked decisions' rows committed while
// other events wait.
const aloneGap = 100 * time.Millisecond

// commitAlone tells whether the row just queued is a blocked decision to commit at
// once although events wait (recordLater).
func (d *Daemon) commitAlone(kind event.Kind, details any) bool {
	dd, ok := details.(event.DeviceDecision)
	if kind != event.KindDeviceDecision || !ok || dd.Effective != string(policy.Block) {
		return false
	}
	now := d.cfg.Now()
	if !d.lastAlone.IsZero() && now.Sub(d.lastAlone) < aloneGap && now.Sub(d.lastAlone) >= 0 {
		return false
	}
	d.lastAlone = now
	return true
}

// queuedRows is how many rows wait for their commit.
func (d *Daemon) queuedRows() int {
	d.rowsMu.Lock()
	defer d.rowsMu.Unlock()
	return len(d.rows)
}

// flushRows commits the queued rows; a failure is a problem shown in status.
func (d *Daemon) flushRows(ctx context.Context) {
	d.rowsMu.Lock()
	err := d.commitRows(ctx)
	d.rowsMu.Unlock()
	if err != nil {
		d.problem("audit rows: %v", err)
	}
	d.auditRescan(ctx)
}

// commitRows writes the queued rows (rowsMu held): in one transaction, retried twice
// when the database is busy; if that fails, row by row, so that one row that cannot be
// written does not take the others with it. The queue is empty afterwards.
func (d *Daemon) commitRows(ctx context.Context) error {
	if len(d.rows) == 0 {
		return nil
	}
	err := d.commitQueued(ctx)
	d.auditCommitted(err)
	return err
}

// auditCommitted notes whether the last commit of audit rows worked. While commits
// fail, no medium is let in (lookup sets policy.Input.AuditUnavailable): an allowed
// medium's row is committed after its authorized write, so a failing log would
// otherwise let media in with no record of it. When the log fails, or works again,
// the devices present are decided again (auditRescan): those let in while their rows
// were failing are taken away, and those blocked for it are let in.
func (d *Daemon) auditCommitted(err error) {
	down := err != nil
	if d.auditDown.Swap(down) == down {
		return
	}
	d.auditTurned.Store(true)
	if down {
		d.log.Error("the audit log cannot be written: media are blocked until it can", "err", err)
	} else {
		d.log.Warn("the audit log is written again: deciding the devices present again")
	}
}

// auditRescan decides the devices present again after the audit log failed or
// recovered (auditCommitted): at once when no event is being handled, else when the
// one handling it is done (Run and Rescan call it after letting d.work go). A control
// call's row can turn the state while no event comes, so record and flushRows call it
// too (the mount log's rows do not: recordRow). The rescan's own commit can turn the
// state again (rows that failed for another reason than the log): then it runs once
// more.
func (d *Daemon) auditRescan(ctx context.Context) {
	for range 2 {
		if !d.auditTurned.Load() || !d.work.TryLock() {
			return
		}
		if d.auditTurned.Swap(false) {
			d.rescanLocked(context.WithoutCancel(ctx), "audit-log")
		}
		d.work.Unlock()
	}
}

// commitQueued is commitRows' work: in one transaction, retried twice when the
// database is busy; if that fails, row by row.
func (d *Daemon) commitQueued(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	rows := d.rows
	defer func() {
		clear(d.rows)
		d.rows = d.rows[:0]
	}()
	var err error
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Duration(50*i) * time.Millisecond)
		}
		if err = writeRows(ctx, d.cfg.Store, rows); err == nil {
			d.ownRowsCommitted()
			return nil
		}
	}
	if len(rows) == 1 {
		return fmt.Errorf("write %s row: %w", rows[0].Kind, err)
	}
	var errs []error
	for _, r := range rows {
		if _, err := d.cfg.Store.RecordEvent(ctx, r.Kind, r.Medium, r.Details); err != nil {
			errs = append(errs, fmt.Errorf("write %s row: %w", r.Kind, err))
		}
	}
	return errors.Join(errs...)
}

// writeRows appends rows in one transaction when the store can, else one by one.
func writeRows(ctx context.Context, s Store, rows []registry.EventRow) error {
	if b, ok := s.(batchStore); ok {
		return b.RecordEvents(ctx, rows)
	}
	for _, r := range rows {
		if _, err := s.RecordEvent(ctx, r.Kind, r.Medium, r.Details); err != nil {
			return err
		}
	}
	return nil
}

// backlog tells whether the source has more events waiting.
func (d *Daemon) backlog() bool {
	d.mu.Lock()
	src := d.cfg.Source
	d.mu.Unlock()
	b, ok := src.(udev.Backlog)
	return ok && b.Queued() > 0
}

// ownRowsCommitted tells the index that the daemon has just committed rows of its own:
// when that commit was the only one since the index last checked the register, the
// index counts it as checked (regindex.Registry.OwnAppended), without a query or a
// read, and the next event's check (Index.Fresh) finds the register as it was. Any
// other commit in between — another process's change — is found by that check.
func (d *Daemon) ownRowsCommitted() {
	if d.cfg.Index != nil {
		d.cfg.Index.OwnAppended()
	}
}
