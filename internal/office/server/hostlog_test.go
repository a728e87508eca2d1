package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/media"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/server"
	"mediagate/internal/office/wire"
	"mediagate/internal/service"
)

// hostSide is an enrolled host: its state from a real enrolment, its register and a
// Shipper over it.
type hostSide struct {
	t      *testing.T
	st     *hostclient.State
	c      *hostclient.Client
	db     string
	local  *service.Local
	ship   *hostclient.Shipper
	cancel context.CancelFunc
	done   chan struct{}
}

func enrolHost(t *testing.T, o *office, number string) *hostSide {
	t.Helper()
	token := o.addHost(number, media.Secret)
	dir := t.TempDir()
	_, err := hostclient.Enroll(t.Context(), hostclient.EnrollOptions{Server: o.url, Token: token,
		Fingerprint: pki.Fingerprint(o.keys.CA.Cert), Host: number, Dir: filepath.Join(dir, "office")})
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	st, err := hostclient.Load(filepath.Join(dir, "office"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := hostclient.NewClient(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &hostSide{t: t, st: st, c: c, db: filepath.Join(dir, "host.db")}
}

// start opens the host's register and runs a Shipper over it, woken by every append.
func (h *hostSide) start() {
	h.t.Helper()
	var ship *hostclient.Shipper
	local, err := service.OpenLocal(context.Background(), h.db, service.LocalOptions{Create: true,
		Actor: audit.Actor{UID: 0, User: "root"}, Appended: func() {
			if ship != nil {
				ship.Wake()
			}
		}})
	if err != nil {
		h.t.Fatal(err)
	}
	ship = hostclient.NewShipper(hostclient.ShipperConfig{Client: h.c, Source: local, Key: h.st.PolicyKey,
		AckFile: anchor.File(h.db), BatchRows: 7, MaxBackoff: time.Second})
	h.local, h.ship = local, ship
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { defer close(h.done); ship.Run(ctx) }()
	ship.Wake()
}

// stop stops the Shipper and closes the register (the daemon stopped).
func (h *hostSide) stop() {
	h.cancel()
	<-h.done
	if err := h.local.Close(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *hostSide) write(n int) {
	h.t.Helper()
	for i := range n {
		if _, err := h.local.Service.Store().RecordEvent(context.Background(), event.KindDaemonRescan, "",
			event.DaemonRescan{Devices: i}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// waitAcked waits until the office acknowledged the host's head.
func (h *hostSide) waitAcked() anchor.Ack {
	h.t.Helper()
	head, err := h.local.LogHead(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for h.ship.Status().Acked != head.Seq {
		if time.Now().After(deadline) {
			h.t.Fatalf("head %d not acknowledged: %+v", head.Seq, h.ship.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	a, ok, err := anchor.Load(anchor.File(h.db))
	if err != nil || !ok {
		h.t.Fatalf("ack file: %v %v", ok, err)
	}
	if err := a.Verify(h.st.PolicyKey); err != nil {
		h.t.Fatal(err)
	}
	if a.Seq != head.Seq || a.Hash != head.Hash {
		h.t.Fatalf("ack file %d/%s, head %d/%s", a.Seq, a.Hash, head.Seq, head.Hash)
	}
	return a
}

// TestShipperAgainstTheServer: an enrolled host ships its log to the real server over
// mutual TLS, as rows are written; after the daemon stops and an older copy of the
// register is put back, the next start is caught by the office.
func TestShipperAgainstTheServer(t *testing.T) {
	o := startOffice(t)
	h := enrolHost(t, o, "HOST-07")
	h.start()
	h.write(10)
	h.waitAcked()
	// The older copy an attacker keeps.
	h.stop()
	b, err := os.ReadFile(h.db)
	if err != nil {
		t.Fatal(err)
	}
	h.start()
	h.write(20)
	a := h.waitAcked()
	oh, err := o.local.OfficeHost(t.Context(), "HOST-07")
	if err != nil {
		t.Fatal(err)
	}
	c, err := o.ledger.Chain(t.Context(), oh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Seq != a.Seq || c.Hash != a.Hash || c.Broken() {
		t.Fatalf("office chain %+v, host's ack %d", c, a.Seq)
	}
	rows, err := o.local.Service.Store().(interface {
		HostLogRows(ctx context.Context, host string, from int64, limit int) ([]*audit.Event, error)
	}).HostLogRows(t.Context(), oh.ID, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)) != a.Seq {
		t.Fatalf("office holds %d rows, acknowledged %d", len(rows), a.Seq)
	}

	// The daemon stops; the older copy goes back (its .ack too); the daemon starts.
	h.stop()
	if err := os.WriteFile(h.db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(h.db + "-wal")
	os.Remove(h.db + "-shm")
	h.start()
	defer h.stop()
	deadline := time.Now().Add(15 * time.Second)
	for h.ship.Status().BrokenSeq == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("rollback not caught: %+v", h.ship.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c, err = o.ledger.Chain(t.Context(), oh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Broken() || c.BrokenSeq != h.ship.Status().BrokenSeq || c.BrokenSeq > 12 {
		t.Fatalf("office chain %+v, host status %+v", c, h.ship.Status())
	}
	// The office's acknowledgement went back into the .ack file: the host's own audit
	// verify sees the rollback too (the acknowledged row is not in its log).
	got, ok, err := anchor.Load(anchor.File(h.db))
	if err != nil || !ok || got.Seq != a.Seq {
		t.Fatalf("ack file after the rollback: %+v %v %v", got, ok, err)
	}
	// server host list/show read it from the host's record.
	if oh, err = o.local.OfficeHost(t.Context(), "HOST-07"); err != nil || oh.Log.BrokenSeq != c.BrokenSeq || oh.Log.BrokenReason == "" {
		t.Fatalf("host record: %+v %v", oh.Log, err)
	}
	evs, err := o.local.Events(t.Context(), service.EventFilter{Kind: string(event.KindOfficeLogBroken)})
	if err != nil || len(evs) != 1 {
		t.Fatalf("office audit rows of the break: %d, %v", len(evs), err)
	}
}

// TestLogEndpointRefusesHostileBatches: what a host's certificate can send the log
// endpoint that is not a log batch is refused and changes nothing.
func TestLogEndpointRefusesHostileBatches(t *testing.T) {
	o := startOffice(t)
	e := o.mustEnroll("HOST-08", media.Secret)
	row := wire.LogRow{Seq: 1, ID: "x", Time: "2026-11-30T10:00:00.000Z", HostID: "r", Kind: "daemon.start",
		PrevHash: audit.GenesisHash, Hash: strings.Repeat("a", 64)}
	for name, body := range map[string]string{
		"not json":         `{"rows":[`,
		"unknown field":    `{"rows":[],"x":1}`,
		"bad time":         `{"rows":[{"seq":1,"time":"yesterday"}]}`,
		"no rows":          `{"rows":[]}`,
		"head of two rows": string(mustJSON(wire.LogBatch{Rows: []wire.LogRow{row, row}, Head: true})),
		"trailing":         `{"rows":[]} {}`,
	} {
		status, resp := o.postRaw(e.client, wire.PathLog, []byte(body))
		if status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s", name, status, resp)
		}
	}
	big := make([]byte, wire.MaxLogBody+10)
	if status, _ := o.postRaw(e.client, wire.PathLog, big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: HTTP %d", status)
	}
	// A self-consistent row whose hash is wrong: the chain of this host is broken.
	status, resp := o.post(e.client, wire.PathLog, wire.LogBatch{Rows: []wire.LogRow{row}})
	if werr := decodeErr(t, resp); status != http.StatusConflict || werr.Code != wire.CodeLogBroken || werr.Seq != 1 {
		t.Errorf("edited row: HTTP %d %s", status, resp)
	}
	// Without a certificate, or an officer's: refused.
	resp2, err := o.client(nil).Get(o.url + wire.PathLog)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusUnauthorized {
		t.Errorf("no certificate: HTTP %d", resp2.StatusCode)
	}
	// GET answers the state: broken now.
	r, err := e.client.Get(o.url + wire.PathLog)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var werr wire.Error
	if err := json.NewDecoder(r.Body).Decode(&werr); err != nil || r.StatusCode != http.StatusConflict || werr.Code != wire.CodeLogBroken {
		t.Errorf("GET after the break: HTTP %d %+v %v", r.StatusCode, werr, err)
	}
}

// TestFrozenHostGetsNoMedia: a frozen host's next policy holds no media, general or
// limited to it, and no people; thawed, they come back — each a new version, so that
// the host takes it.
func TestFrozenHostGetsNoMedia(t *testing.T) {
	o := startOffice(t)
	o.register(t, "4C530001231120109142", media.Secret)
	e := o.mustEnroll("HOST-07", media.Secret)
	o.register(t, "4C530001231120109143", media.Confidential, "HOST-07")
	latest := func(after uint64) server.Document {
		t.Helper()
		status, body := e.policy(t, o, after, 5)
		if status != http.StatusOK {
			t.Fatalf("policy after %d: HTTP %d %s", after, status, body)
		}
		return openEnvelope(t, body, e.pub)
	}
	doc := latest(0)
	for len(doc.Media) < 2 {
		doc = latest(doc.Version)
	}
	h, err := o.local.FreezeOfficeHost(t.Context(), "HOST-07", true, "log rolled back")
	if err != nil || h.Log.Frozen.IsZero() {
		t.Fatalf("freeze: %+v %v", h.Log, err)
	}
	frozen := latest(doc.Version)
	if len(frozen.Media) != 0 || len(frozen.People) != 0 || frozen.Version <= doc.Version {
		t.Fatalf("frozen host's policy v%d: %d media, %d people", frozen.Version, len(frozen.Media), len(frozen.People))
	}
	if _, err := o.local.FreezeOfficeHost(t.Context(), "HOST-07", false, "checked"); err != nil {
		t.Fatal(err)
	}
	thawed := latest(frozen.Version)
	if len(thawed.Media) != 2 {
		t.Fatalf("thawed host's policy v%d: %d media", thawed.Version, len(thawed.Media))
	}
	list, err := o.local.OfficeHosts(t.Context())
	if err != nil || len(list) != 1 || !list[0].Log.Frozen.IsZero() {
		t.Fatalf("host list after thaw: %+v %v", list, err)
	}
}
