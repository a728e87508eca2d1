package testbed

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// QMPError is an error answer of QEMU to a command.
type QMPError struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *QMPError) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}

// ErrQMPClosed is returned for commands that were pending or sent after the connection ended.
var ErrQMPClosed = errors.New("qmp connection closed")

// Event is an asynchronous QMP event, such as DEVICE_DELETED.
type Event struct {
	Seq  int             // position in the client's event history, from 1
	Name string          // "event"
	Data json.RawMessage // "data", may be nil
	Time time.Time       // QEMU's "timestamp"
}

// QMP is a client of the QEMU Machine Protocol: JSON objects, one a line, on a unix
// socket. Commands may be issued from several goroutines; answers are matched by id.
// Every event is kept, so a caller can wait for an event that arrived before it asked.
type QMP struct {
	conn net.Conn

	wmu    sync.Mutex // serialises writes
	mu     sync.Mutex
	nextID int
	wait   map[string]chan qmpMessage
	events []Event
	notify chan struct{} // closed and replaced whenever events grow or the reader stops
	err    error         // set when the reader stops

	Greeting json.RawMessage // the "QMP" object of the greeting
}

type qmpMessage struct {
	QMP       json.RawMessage `json:"QMP,omitempty"`
	Return    json.RawMessage `json:"return,omitempty"`
	Error     *QMPError       `json:"error,omitempty"`
	Event     string          `json:"event,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	ID        json.RawMessage `json:"id,omitempty"`
	Timestamp *struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp,omitempty"`
}

// DialQMP connects to the QMP socket at path, retrying until ctx ends (QEMU creates the
// socket shortly after it starts), reads the greeting and negotiates capabilities.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	var d net.Dialer
	var conn net.Conn
	for {
		var err error
		conn, err = d.DialContext(ctx, "unix", path)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial qmp %s: %w", path, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	c, err := NewQMP(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewQMP runs the QMP handshake on an open connection and starts reading it.
func NewQMP(ctx context.Context, conn net.Conn) (*QMP, error) {
	c := &QMP{conn: conn, wait: map[string]chan qmpMessage{}, notify: make(chan struct{})}
	r := bufio.NewReaderSize(conn, 64*1024)

	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("read qmp greeting: %w", err)
	}
	conn.SetReadDeadline(time.Time{})
	var g qmpMessage
	if err := json.Unmarshal(line, &g); err != nil || g.QMP == nil {
		return nil, fmt.Errorf("qmp greeting %q: not a QMP greeting", line)
	}
	c.Greeting = g.QMP

	go c.read(r)
	if _, err := c.Execute(ctx, "qmp_capabilities", nil); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *QMP) read(r *bufio.Reader) {
	var err error
	for {
		var line []byte
		line, err = r.ReadBytes('\n')
		if len(line) > 0 {
			var m qmpMessage
			if jerr := json.Unmarshal(line, &m); jerr != nil {
				err = fmt.Errorf("qmp: bad message %q: %w", line, jerr)
				break
			}
			c.dispatch(m)
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %v", ErrQMPClosed, err)
	for id, ch := range c.wait {
		close(ch)
		delete(c.wait, id)
	}
	close(c.notify)
	c.notify = make(chan struct{})
	c.mu.Unlock()
}

func (c *QMP) dispatch(m qmpMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Event != "" {
		ev := Event{Seq: len(c.events) + 1, Name: m.Event, Data: m.Data}
		if m.Timestamp != nil {
			ev.Time = time.Unix(m.Timestamp.Seconds, m.Timestamp.Microseconds*1000)
		}
		c.events = append(c.events, ev)
		close(c.notify)
		c.notify = make(chan struct{})
		return
	}
	if m.ID == nil {
		return // an answer we did not ask for; QEMU sends none
	}
	if ch, ok := c.wait[string(m.ID)]; ok {
		delete(c.wait, string(m.ID))
		ch <- m
	}
}

// Execute sends one command with its arguments (nil for none, else anything that
// marshals to a JSON object) and returns the "return" value.
func (c *QMP) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	id := fmt.Sprintf(`"mg-%d"`, c.nextID)
	ch := make(chan qmpMessage, 1)
	c.wait[id] = ch
	c.mu.Unlock()

	req := struct {
		Execute   string          `json:"execute"`
		Arguments any             `json:"arguments,omitempty"`
		ID        json.RawMessage `json:"id"`
	}{command, args, json.RawMessage(id)}
	b, err := json.Marshal(req)
	if err != nil {
		c.forget(id)
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	c.wmu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetWriteDeadline(dl)
	}
	_, err = c.conn.Write(append(b, '\n'))
	c.conn.SetWriteDeadline(time.Time{})
	c.wmu.Unlock()
	if err != nil {
		c.forget(id)
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}

	select {
	case m, ok := <-ch:
		if !ok {
			c.mu.Lock()
			err := c.err
			c.mu.Unlock()
			return nil, fmt.Errorf("qmp %s: %w", command, err)
		}
		if m.Error != nil {
			m.Error.Command = command
			return nil, m.Error
		}
		return m.Return, nil
	case <-ctx.Done():
		c.forget(id)
		return nil, fmt.Errorf("qmp %s: %w", command, ctx.Err())
	}
}

func (c *QMP) forget(id string) {
	c.mu.Lock()
	delete(c.wait, id)
	c.mu.Unlock()
}

// EventSeq returns the sequence number of the latest event seen (0 for none). Take it
// before an action, then WaitEvent(ctx, seq, …) finds only the events that followed.
func (c *QMP) EventSeq() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// Events returns a copy of all events seen so far.
func (c *QMP) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// WaitEvent waits for the first event after sequence number after with the given name
// for which match (nil matches all) returns true.
func (c *QMP) WaitEvent(ctx context.Context, after int, name string, match func(Event) bool) (Event, error) {
	for {
		c.mu.Lock()
		for _, ev := range c.events[min(after, len(c.events)):] {
			if ev.Name == name && (match == nil || match(ev)) {
				c.mu.Unlock()
				return ev, nil
			}
		}
		after = len(c.events)
		notify, err := c.notify, c.err
		c.mu.Unlock()
		if err != nil {
			return Event{}, fmt.Errorf("wait for qmp event %s: %w", name, err)
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("wait for qmp event %s: %w", name, ctx.Err())
		}
	}
}

// DeviceDeleted matches a DEVICE_DELETED event for the device with the given id.
func DeviceDeleted(id string) func(Event) bool {
	return func(ev Event) bool {
		var d struct {
			Device string `json:"device"`
		}
		return json.Unmarshal(ev.Data, &d) == nil && d.Device == id
	}
}

// Close ends the connection.
func (c *QMP) Close() error {
	return c.conn.Close()
}
