package testbed

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQMP is a QMP server on a unix socket that answers like QEMU: greeting, then one
// JSON object per line. handle returns the lines to send for each request.
type fakeQMP struct {
	path     string
	ln       net.Listener
	requests chan map[string]any
}

func newFakeQMP(t *testing.T, handle func(req map[string]any) []string) *fakeQMP {
	t.Helper()
	f := &fakeQMP{path: filepath.Join(t.TempDir(), "qmp.sock"), requests: make(chan map[string]any, 100)}
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		w := bufio.NewWriter(conn)
		w.WriteString(`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": ["oob"]}}` + "\r\n")
		w.Flush()
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			var req map[string]any
			if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
				w.WriteString(`{"error": {"class": "GenericError", "desc": "JSON parse error"}}` + "\r\n")
				w.Flush()
				continue
			}
			f.requests <- req
			for _, l := range handle(req) {
				w.WriteString(l + "\r\n")
			}
			w.Flush()
			if req["execute"] == "quit" {
				return
			}
		}
	}()
	return f
}

func idOf(req map[string]any) string {
	b, _ := json.Marshal(req["id"])
	return string(b)
}

func ok(req map[string]any, ret string) string {
	return `{"return": ` + ret + `, "id": ` + idOf(req) + `}`
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestQMPHandshakeAndCommand(t *testing.T) {
	f := newFakeQMP(t, func(req map[string]any) []string {
		switch req["execute"] {
		case "qmp_capabilities":
			return []string{ok(req, "{}")}
		case "query-status":
			return []string{ok(req, `{"status": "running", "running": true}`)}
		}
		return []string{`{"error": {"class": "CommandNotFound", "desc": "The command ` + req["execute"].(string) + ` has not been found"}, "id": ` + idOf(req) + `}`}
	})
	c, err := DialQMP(ctxT(t), f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if first := <-f.requests; first["execute"] != "qmp_capabilities" {
		t.Fatalf("first command = %v, want qmp_capabilities", first["execute"])
	}
	if !strings.Contains(string(c.Greeting), `"fake"`) {
		t.Errorf("greeting = %s", c.Greeting)
	}

	ret, err := c.Execute(ctxT(t), "query-status", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Status string }
	if err := json.Unmarshal(ret, &st); err != nil || st.Status != "running" {
		t.Errorf("query-status = %s (%v)", ret, err)
	}
	<-f.requests

	_, err = c.Execute(ctxT(t), "no-such-command", map[string]any{"x": 1})
	var qe *QMPError
	if !errors.As(err, &qe) || qe.Class != "CommandNotFound" || qe.Command != "no-such-command" {
		t.Fatalf("error = %#v, want a CommandNotFound QMPError", err)
	}
	req := <-f.requests
	if args, _ := req["arguments"].(map[string]any); args["x"] != float64(1) {
		t.Errorf("arguments sent = %v", req["arguments"])
	}
}

func TestQMPEventsInterleavedWithAnswers(t *testing.T) {
	// QEMU may send events before the answer to the command that caused them.
	f := newFakeQMP(t, func(req map[string]any) []string {
		switch req["execute"] {
		case "device_del":
			id := req["arguments"].(map[string]any)["id"].(string)
			return []string{
				`{"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "DEVICE_DELETED", "data": {"device": "` + id + `-cd", "path": "/machine/peripheral/` + id + `-cd"}}`,
				`{"timestamp": {"seconds": 1700000000, "microseconds": 6}, "event": "DEVICE_DELETED", "data": {"device": "` + id + `", "path": "/machine/peripheral/` + id + `"}}`,
				ok(req, "{}"),
			}
		default:
			return []string{ok(req, "{}")}
		}
	})
	c, err := DialQMP(ctxT(t), f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	seq := c.EventSeq()
	if _, err := c.Execute(ctxT(t), "device_del", map[string]any{"id": "cd1"}); err != nil {
		t.Fatal(err)
	}
	ev, err := c.WaitEvent(ctxT(t), seq, "DEVICE_DELETED", DeviceDeleted("cd1"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 2 || !strings.Contains(string(ev.Data), `"/machine/peripheral/cd1"`) {
		t.Errorf("event = %+v, want the second DEVICE_DELETED, for cd1", ev)
	}
	if ev.Time.Unix() != 1700000000 {
		t.Errorf("event time = %v", ev.Time)
	}

	// An event already consumed is not found again after its sequence number.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.WaitEvent(ctx, ev.Seq, "DEVICE_DELETED", DeviceDeleted("cd1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second wait: err = %v, want deadline exceeded", err)
	}
}

func TestQMPConcurrentCommandsMatchedByID(t *testing.T) {
	// Answer two commands in reverse order: the client must match answers by id.
	var held map[string]any
	f := newFakeQMP(t, func(req map[string]any) []string {
		switch req["execute"] {
		case "qmp_capabilities":
			return []string{ok(req, "{}")}
		case "first":
			held = req
			return nil
		case "second":
			return []string{ok(req, `"two"`), ok(held, `"one"`)}
		}
		return nil
	})
	c, err := DialQMP(ctxT(t), f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-f.requests

	type answer struct {
		ret string
		err error
	}
	first := make(chan answer, 1)
	go func() {
		r, err := c.Execute(ctxT(t), "first", nil)
		first <- answer{string(r), err}
	}()
	<-f.requests // "first" has reached the server
	r2, err := c.Execute(ctxT(t), "second", nil)
	if err != nil || string(r2) != `"two"` {
		t.Fatalf("second = %s, %v", r2, err)
	}
	if a := <-first; a.err != nil || a.ret != `"one"` {
		t.Fatalf("first = %s, %v", a.ret, a.err)
	}
}

func TestQMPClosedConnectionFailsPendingCommands(t *testing.T) {
	f := newFakeQMP(t, func(req map[string]any) []string {
		if req["execute"] == "qmp_capabilities" {
			return []string{ok(req, "{}")}
		}
		return nil // "quit": the server hangs up without answering
	})
	c, err := DialQMP(ctxT(t), f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Execute(ctxT(t), "quit", nil); !errors.Is(err, ErrQMPClosed) {
		t.Fatalf("quit: err = %v, want ErrQMPClosed", err)
	}
	if _, err := c.WaitEvent(ctxT(t), 0, "SHUTDOWN", nil); !errors.Is(err, ErrQMPClosed) {
		t.Fatalf("wait after close: err = %v, want ErrQMPClosed", err)
	}
	if _, err := c.Execute(ctxT(t), "query-status", nil); !errors.Is(err, ErrQMPClosed) {
		t.Fatalf("command after close: err = %v, want ErrQMPClosed", err)
	}
}

func TestQMPRejectsNonQMPGreeting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.Write([]byte("login: \n"))
			time.Sleep(100 * time.Millisecond)
			conn.Close()
		}
	}()
	if _, err := DialQMP(ctxT(t), path); err == nil || !strings.Contains(err.Error(), "greeting") {
		t.Fatalf("err = %v, want a greeting error", err)
	}
}
