package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"mediagate/internal/audit"
)

// FuzzLogBatch feeds the log endpoint's decoder hostile bodies: it never panics, and
// every row it accepts encodes back (RowOf) to the row received, so that the bytes
// the hash covers reach the ledger unchanged.
func FuzzLogBatch(f *testing.F) {
	e := &audit.Event{Seq: 1, ID: "01J", HostID: "reg", Kind: "daemon.start", Actor: audit.Actor{UID: 0, User: "root"},
		Details: json.RawMessage(`{"mode":"enforce","pid":7,"x":"<&>"}`)}
	audit.Seal(e, 0, "")
	good, _ := json.Marshal(LogBatch{Rows: []LogRow{RowOf(e)}})
	f.Add(good)
	for _, s := range []string{
		`{"rows":[]}`, `{"rows":null,"head":true}`, `{"rows":[{"seq":-1,"time":"2026-11-30T10:00:00.000Z"}]}`,
		`{"rows":[{"time":"2026-11-30T10:00:00Z"}]}`, `{"rows":[{"details":"\u0000\ud800"}]}`, `{"rows":[{}]`, `[]`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var batch LogBatch
		if err := DecodeBytes(b, &batch); err != nil {
			return
		}
		rows, err := batch.Events()
		if err != nil {
			if !errors.Is(err, ErrBadRow) {
				t.Fatalf("error %v does not wrap ErrBadRow", err)
			}
			return
		}
		if len(rows) != len(batch.Rows) {
			t.Fatalf("%d rows decoded from %d", len(rows), len(batch.Rows))
		}
		for i, e := range rows {
			if got := RowOf(e); !reflect.DeepEqual(got, batch.Rows[i]) {
				t.Fatalf("row %d does not survive: got %+v, sent %+v", i, got, batch.Rows[i])
			}
		}
	})
}
