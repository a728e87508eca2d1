package server

import (
	"errors"
	"net/http"

	"mediagate/internal/anchor"
	"mediagate/internal/office/ledger"
	"mediagate/internal/office/wire"
	"mediagate/internal/service"
)

// handleLog is the host's audit log: GET answers the office's acknowledgement of the
// host's head (the shipper starts from it), POST takes a batch of rows and answers
// the new acknowledgement. A batch that breaks the host's chain is recorded by the
// ledger (its own audit row and alert), not as a refused request; a batch that starts
// after the office's head is routine (the host resends) and writes no row.
func (s *Server) handleLog(w http.ResponseWriter, r *http.Request, host service.OfficeHost) {
	l := s.cfg.Ledger
	if l == nil {
		s.refuse(w, r, http.StatusNotFound, "not-found", r.URL.Path, host.Number, host.Number)
		return
	}
	if r.Method == http.MethodGet {
		ack, err := l.Head(r.Context(), host.ID)
		if errors.Is(err, ledger.ErrNoChain) {
			writeJSON(w, http.StatusOK, wire.LogAnswer{})
			return
		}
		s.logAnswer(w, r, ack, err)
		return
	}
	var b wire.LogBatch
	if !s.decodeMax(w, r, &b, host.Number, host.Number, wire.MaxLogBody) {
		return
	}
	rows, err := b.Events()
	if err == nil && b.Head && len(rows) != 1 {
		err = errors.New("a head batch holds one row")
	}
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, "bad-body", err.Error(), host.Number, host.Number)
		return
	}
	var ack anchor.Ack
	if b.Head {
		ack, err = l.ReceiveHead(r.Context(), host.ID, rows[0])
	} else {
		ack, err = l.Receive(r.Context(), host.ID, rows)
	}
	if errors.Is(err, ledger.ErrBadBatch) {
		s.refuse(w, r, http.StatusBadRequest, "bad-body", err.Error(), host.Number, host.Number)
		return
	}
	s.logAnswer(w, r, ack, err)
}

func (s *Server) logAnswer(w http.ResponseWriter, r *http.Request, ack anchor.Ack, err error) {
	var gap *ledger.GapError
	var broken *ledger.BrokenError
	switch {
	case errors.As(err, &gap):
		writeJSON(w, http.StatusConflict, &wire.Error{Kind: "office", Code: wire.CodeLogGap, Seq: gap.Head, Message: gap.Error()})
	case errors.As(err, &broken):
		writeJSON(w, http.StatusConflict, &wire.Error{Kind: "office", Code: wire.CodeLogBroken, Seq: broken.Seq, Message: broken.Error()})
	case err != nil:
		s.internal(w, r, err)
	default:
		writeJSON(w, http.StatusOK, wire.LogAnswer{Ack: &ack})
	}
}
