package replay

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/service"
)

// Reader hands over the register: *service.Service implements it.
type Reader interface {
	ReadRegister(ctx context.Context, each func(*audit.Event) error) (service.Tables, audit.Head, error)
}

// Options are what Verify checks besides the log and the register.
type Options struct {
	// Ack is the office's latest acknowledgement of this host's chain (its signature
	// already checked by the caller); nil when there is none.
	Ack *anchor.Ack
}

// Report is what Verify found.
type Report struct {
	Rows int64      // rows of the log read
	Head audit.Head // the last row that continues the chain
	// Broken is the first row that breaks the hash chain; the register is not
	// compared with a broken log.
	Broken       *audit.BrokenError
	Findings     []Finding
	Unverifiable []Unverifiable
	// Anchored is set when the log holds the acknowledged row.
	Anchored bool
	// People, Media and Campaigns count the register's rows that were checked.
	People, Media, Campaigns int
}

// Intact reports whether nothing was found.
func (r Report) Intact() bool { return r.Broken == nil && len(r.Findings) == 0 }

// errStop ends the read of a broken log early.
var errStop = errors.New("stop")

// Verify reads the register once: it checks the log's hash chain and its recorded
// head, rebuilds the register from the log, compares it with the tables, and checks
// that the log still holds the row the office acknowledged (opts.Ack).
func Verify(ctx context.Context, r Reader, opts Options) (Report, error) {
	var rep Report
	var chain audit.Chain
	s := NewState()
	var ackHash string
	ackSeen := false
	tables, head, err := r.ReadRegister(ctx, func(e *audit.Event) error {
		if err := chain.Add(e); err != nil {
			var be *audit.BrokenError
			if errors.As(err, &be) {
				rep.Broken = be
				return errStop
			}
			return err
		}
		if opts.Ack != nil && e.Seq == opts.Ack.Seq {
			ackHash, ackSeen = e.Hash, true
		}
		s.Apply(e)
		return nil
	})
	rep.Rows, rep.Head = chain.Rows(), chain.Last()
	if rep.Broken != nil {
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	if err := chain.End(head); err != nil {
		var be *audit.BrokenError
		if errors.As(err, &be) {
			rep.Broken = be
			return rep, nil
		}
		return rep, err
	}
	rep.Findings, rep.Unverifiable = Compare(s, tables)
	rep.People, rep.Media, rep.Campaigns = len(tables.People), len(tables.Media), len(tables.Campaigns)
	if a := opts.Ack; a != nil {
		key := "row " + strconv.FormatInt(a.Seq, 10)
		switch {
		case tables.HostID != a.Host:
			rep.Findings = append(rep.Findings, Finding{Table: "acknowledgement", Key: key, Field: "host", Problem: ProblemAnchor,
				Register: tables.HostID, Log: a.Host, Row: a.Seq})
		case !ackSeen:
			rep.Findings = append(rep.Findings, Finding{Table: "acknowledgement", Key: key, Problem: ProblemAnchor,
				Register: strconv.FormatInt(rep.Head.Seq, 10), Log: a.Hash, Row: a.Seq})
		case ackHash != a.Hash:
			rep.Findings = append(rep.Findings, Finding{Table: "acknowledgement", Key: key, Field: "hash", Problem: ProblemAnchor,
				Register: ackHash, Log: a.Hash, Row: a.Seq})
		default:
			rep.Anchored = true
		}
	}
	return rep, nil
}
