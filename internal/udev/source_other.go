//go:build !linux

package udev

import (
	"context"
	"errors"
	"log/slog"
)

// Options configures Open (see the Linux version).
type Options struct {
	UdevControl string
	Source      string
	QueueLimit  int
	NoEnumerate bool
	Sys         string
	UdevData    string
	Log         *slog.Logger
}

// Monitor is the netlink event source; it exists only on Linux.
type Monitor struct{}

// Open fails: the event source needs Linux.
func Open(Options) (*Monitor, error) {
	return nil, errors.New("device events need Linux")
}

// Name is empty.
func (m *Monitor) Name() string { return "" }

// Receive fails.
func (m *Monitor) Receive(context.Context) (Event, error) { return Event{}, ErrClosed }

// Queued is 0: nothing is ever received.
func (m *Monitor) Queued() int { return 0 }

// Close does nothing.
func (m *Monitor) Close() error { return nil }
