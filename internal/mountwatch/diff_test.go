package mountwatch

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC)

const stick = "/tmp/mwcap/media/officer/MY STICK"

type brief struct {
	Kind       Kind
	ID         int
	Source     string
	MountPoint string
	ReadOnly   bool
}

func briefs(events []Event) []brief {
	var out []brief
	for _, e := range events {
		out = append(out, brief{e.Kind, e.MountID, e.Source, e.MountPoint, e.ReadOnly})
	}
	return out
}

func TestDiffFixtures(t *testing.T) {
	tests := []struct {
		name       string
		prev, next string
		want       []brief
	}{
		{"no change", "host-base.txt", "host-base.txt", nil},
		{"mount", "host-base.txt", "stick-mounted.txt",
			[]brief{{KindMount, 42, "/dev/loop0", stick, false}}},
		{"bind mount is a mount", "stick-mounted.txt", "stick-bind.txt",
			[]brief{{KindMount, 43, "/dev/loop0", "/tmp/mwcap/bind", false}}},
		{"remount ro reaches the bind through the superblock", "stick-bind.txt", "stick-remount-ro.txt",
			[]brief{{KindRemountRO, 42, "/dev/loop0", stick, true}, {KindRemountRO, 43, "/dev/loop0", "/tmp/mwcap/bind", true}}},
		{"remount rw", "stick-remount-ro.txt", "stick-remount-rw.txt",
			[]brief{{KindRemountRW, 42, "/dev/loop0", stick, false}, {KindRemountRW, 43, "/dev/loop0", "/tmp/mwcap/bind", false}}},
		{"unmount children first", "stick-remount-rw.txt", "stick-unmounted.txt",
			[]brief{{KindUnmount, 43, "/dev/loop0", "/tmp/mwcap/bind", false}, {KindUnmount, 42, "/dev/loop0", stick, false}}},
		{"reused mount id and loop device", "reuse-before.txt", "reuse-after.txt",
			[]brief{{KindUnmount, 42, "/dev/loop0", stick, false}, {KindMount, 42, "/dev/loop0", "/tmp/mwcap/other", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(parseFixture(t, tt.prev), parseFixture(t, tt.next), t0)
			if !reflect.DeepEqual(briefs(got), tt.want) {
				t.Errorf("got  %+v\nwant %+v", briefs(got), tt.want)
			}
			for _, e := range got {
				if !e.Time.Equal(t0) || e.Attribution != AttributionNone || e.UID != UnknownID || e.PID != 0 {
					t.Errorf("event %+v: want time t0, no attribution", e)
				}
			}
		})
	}
}

func TestDiffEventFields(t *testing.T) {
	got := Diff(parseFixture(t, "stick-bind.txt"), parseFixture(t, "stick-remount-ro.txt"), t0)
	e := got[0]
	want := Event{Kind: KindRemountRO, MountID: 42, ParentID: 27, Major: 7, Minor: 0, Source: "/dev/loop0",
		FSType: "ext4", Root: "/", MountPoint: stick, ReadOnly: true, Options: "ro,relatime", SuperOptions: "ro",
		PrevOptions: "rw,relatime", PrevSuperOptions: "rw", Time: t0,
		UID: UnknownID, LoginUID: UnknownID, Attribution: AttributionNone}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
	if e.Device() != "7:0" || !e.BlockDevice() {
		t.Errorf("Device() = %q, BlockDevice() = %v", e.Device(), e.BlockDevice())
	}
}

func TestDiffSynthetic(t *testing.T) {
	root := Mount{ID: 1, ParentID: 0, Major: 8, Minor: 1, Root: "/", MountPoint: "/", Options: "rw", FSType: "ext4", Source: "/dev/sda1", SuperOptions: "rw"}
	stick := Mount{ID: 50, ParentID: 1, Major: 8, Minor: 17, Root: "/", MountPoint: "/media/a/S", Options: "rw,nosuid", FSType: "vfat", Source: "/dev/sdb1", SuperOptions: "rw"}
	with := func(m Mount, f func(*Mount)) Mount { f(&m); return m }
	tests := []struct {
		name       string
		prev, next []Mount
		want       []Kind
	}{
		{"same id, other source", []Mount{root, stick}, []Mount{root, with(stick, func(m *Mount) { m.Source = "/dev/sdc1" })},
			[]Kind{KindUnmount, KindMount}},
		{"moved", []Mount{root, stick}, []Mount{root, with(stick, func(m *Mount) { m.MountPoint = "/mnt" })},
			[]Kind{KindUnmount, KindMount}},
		{"other option only", []Mount{root, stick}, []Mount{root, with(stick, func(m *Mount) { m.Options = "rw,nosuid,noexec" })},
			[]Kind{KindRemount}},
		{"ro on mount only", []Mount{root, stick}, []Mount{root, with(stick, func(m *Mount) { m.Options = "ro,nosuid" })},
			[]Kind{KindRemountRO}},
		{"ro super stays ro", []Mount{root, with(stick, func(m *Mount) { m.SuperOptions = "ro" })},
			[]Mount{root, with(stick, func(m *Mount) { m.SuperOptions = "ro"; m.Options = "ro,nosuid" })}, []Kind{KindRemount}},
		{"everything gone", []Mount{root, stick}, nil, []Kind{KindUnmount, KindUnmount}},
		{"from nothing", nil, []Mount{root, stick}, []Kind{KindMount, KindMount}},
		{"duplicate key in next", []Mount{stick}, []Mount{stick, stick}, []Kind{KindMount}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Kind
			for _, e := range Diff(tt.prev, tt.next, t0) {
				got = append(got, e.Kind)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSeenAtStart(t *testing.T) {
	events := SeenAtStart(parseFixture(t, "debian12-desktop.txt"), Mount.BlockDevice, t0)
	if len(events) != 7 {
		t.Fatalf("got %d events, want 7", len(events))
	}
	for _, e := range events {
		if e.Kind != KindSeenAtStart || e.Attribution != AttributionNone || !e.Time.Equal(t0) {
			t.Errorf("bad event %+v", e)
		}
	}
	if n := len(SeenAtStart(parseFixture(t, "debian12-desktop.txt"), nil, t0)); n != 18 {
		t.Errorf("nil keep: got %d, want 18", n)
	}
}

func TestKindString(t *testing.T) {
	if KindRemountRW.String() != "remount-rw" || Kind(99).String() != "kind(99)" {
		t.Error("Kind.String wrong")
	}
}

// step is one action on a Source under test and the events it must yield.
type step struct {
	name string
	do   func(t *testing.T)
	want func() []brief // called after do: real ids are known only then
}

// sourceSuite runs against every Source: each step's events come out in
// order, an idle Next honours its context, and Close wakes a blocked Next
// and makes later calls return ErrClosed.
func sourceSuite(t *testing.T, src Source, steps []step) []Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var all []Event
	for _, s := range steps {
		s.do(t)
		want := s.want()
		var got []brief
		for len(got) < len(want) {
			e, err := src.Next(ctx)
			if err != nil {
				t.Fatalf("%s: after %+v: %v", s.name, got, err)
			}
			all = append(all, e)
			got = append(got, brief{e.Kind, e.MountID, e.Source, e.MountPoint, e.ReadOnly})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", s.name, got, want)
		}
	}
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if e, err := src.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("idle Next: got %+v, %v; want deadline exceeded", e, err)
	}
	done := make(chan error, 1)
	go func() { _, err := src.Next(context.Background()); done <- err }()
	time.Sleep(20 * time.Millisecond)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next during Close: got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake Next")
	}
	if _, err := src.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: got %v, want ErrClosed", err)
	}
	return all
}

func TestFakeSource(t *testing.T) {
	f := NewFake()
	reuse := Diff(parseFixture(t, "reuse-before.txt"), parseFixture(t, "reuse-after.txt"), t0)
	remount := Diff(parseFixture(t, "stick-bind.txt"), parseFixture(t, "stick-remount-ro.txt"), t0)
	sourceSuite(t, f, []step{
		{"reuse", func(*testing.T) { f.Push(reuse...) }, func() []brief { return briefs(reuse) }},
		{"remount", func(*testing.T) { f.Push(remount...) }, func() []brief { return briefs(remount) }},
	})
}
