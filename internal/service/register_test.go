package service

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"mediagate/internal/audit"
	"mediagate/internal/media"
)

// onlyStore hides every method of a store but those of Store.
type onlyStore struct{ Store }

func TestReadRegister(t *testing.T) {
	ctx := context.Background()
	l, err := OpenLocal(ctx, filepath.Join(t.TempDir(), "reg.db"), LocalOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.AddPerson(ctx, media.Person{Handle: "li", Name: "Li"}); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	tables, head, err := l.ReadRegister(ctx, func(e *audit.Event) error { seen = append(seen, e.Seq); return nil })
	if err != nil || len(seen) != 1 || head.Seq != 1 || len(tables.People) != 1 || tables.People[0].Handle != "li" || tables.HostID == "" {
		t.Fatalf("ReadRegister = %+v %+v %v (rows %v)", tables, head, err, seen)
	}
	stop := errors.New("stop")
	if _, _, err := l.ReadRegister(ctx, func(*audit.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("error of each = %v", err)
	}
	other := New(onlyStore{l.Store()}, Config{})
	if _, _, err := other.ReadRegister(ctx, func(*audit.Event) error { return nil }); !errors.Is(err, ErrCannotReadRegister) {
		t.Errorf("store without ReadRegister: %v", err)
	}
}
