package daemon

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/mountwatch"
)

// mountBed is a bed with a fake sysfs and udev database for the stick's sda1 (8:1)
// and a mount log whose udisks state file lives in a temp dir.
func mountBed(t *testing.T) *bed {
	b := newBed(t, secretHost())
	udev := mountSysfs(t, b.d.cfg.Sys)
	b.d.cfg.Mounts = MountConfig{UdevData: udev, UdisksState: filepath.Join(t.TempDir(), "mounted-fs"),
		UdisksWait: 10 * time.Millisecond, Hostname: "pc-01", Method: "poll",
		LookupUser: func(uid int) string { return map[int]string{0: "root", 1000: "alice"}[uid] }}
	return b
}

// mountSysfs makes sda1 (8:1) of the stick in a fake sysfs and udev database.
func mountSysfs(tb testing.TB, sys string) (udev string) {
	part := filepath.Join(sys, diskP, "sda1")
	if err := os.MkdirAll(part, 0o755); err != nil {
		tb.Fatal(err)
	}
	os.WriteFile(filepath.Join(part, "partition"), []byte("1\n"), 0o644)
	os.MkdirAll(filepath.Join(sys, "dev", "block"), 0o755)
	if err := os.Symlink("../../"+diskP[1:]+"/sda1", filepath.Join(sys, "dev", "block", "8:1")); err != nil {
		tb.Fatal(err)
	}
	udev = tb.TempDir()
	os.WriteFile(filepath.Join(udev, "b8:1"), []byte("E:ID_FS_UUID=1234-ABCD\nE:ID_FS_LABEL=STICK\n"), 0o644)
	return udev
}

func mountEv(k mountwatch.Kind, mp string, ro bool) mountwatch.Event {
	return mountwatch.Event{Kind: k, MountID: 90, Major: 8, Minor: 1, Source: "/dev/sda1", FSType: "vfat", Root: "/",
		MountPoint: mp, ReadOnly: ro, Options: "rw,relatime", Time: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC),
		UID: mountwatch.UnknownID, LoginUID: mountwatch.UnknownID, Attribution: mountwatch.AttributionNone}
}

func (s *memStore) mountRows() []memEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []memEvent
	for _, e := range s.events {
		if e.kind.Area() == "mount" {
			out = append(out, e)
		}
	}
	return out
}

func TestMountRowsOfARegisteredStick(t *testing.T) {
	b := mountBed(t)
	b.register("MOUNT1", media.Secret, media.StatusActive, media.AccessReadWrite, 64<<20)
	b.plugStick("MOUNT1", 64<<20)
	if r := b.lastReason(); r != "allowed" {
		t.Fatalf("reason %q", r)
	}
	b.rec.Reset()
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindMount, "/mnt/x", false))
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindRemountRO, "/mnt/x", true))
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindUnmount, "/mnt/x", true))
	rows := b.store.mountRows()
	var kinds []event.Kind
	for _, r := range rows {
		kinds = append(kinds, r.kind)
		if r.medium != "S-MOUNT1" {
			t.Errorf("%s: medium %q", r.kind, r.medium)
		}
	}
	if want := []event.Kind{KindMountAttach, KindMountRemount, KindMountDetach}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	d := rows[0].details.(event.Mount)
	if d.MountPoint != "/mnt/x" || d.FSUUID != "1234-ABCD" || d.FSType != "vfat" || d.RO || d.Host != "H-01" || d.Hostname != "pc-01" ||
		d.Custodian != "zhang" || d.Medium != "S-MOUNT1" || d.Attribution != "none" || d.MediumLevel != "secret" {
		t.Errorf("attach row %+v", d)
	}
	if dev := d.Device; dev.Partition != "sda1" || dev.Disk != "sda" || dev.DevNum != "8:1" {
		t.Errorf("device %+v", dev)
	}
	if r := rows[1].details.(event.Mount); r.PrevOptions == nil || *r.PrevOptions != "" || !r.RO {
		t.Errorf("remount row %+v", r)
	}
	if len(b.rec.Ops()) != 0 {
		t.Errorf("an allowed mount made the enforcer act: %v", b.rec.Ops())
	}
}

func TestMountOfUndecidedDeviceLooksUpTheRegistry(t *testing.T) {
	b := mountBed(t)
	b.register("MOUNT2", media.Secret, media.StatusActive, media.AccessReadWrite, 64<<20)
	_, blk := stick("MOUNT2", 64<<20)
	b.devs.set(blk) // present, but no device event yet (daemon just started)
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindSeenAtStart, "/mnt/y", false))
	rows := b.store.mountRows()
	if len(rows) != 1 || rows[0].kind != KindMountSeenAtStart || rows[0].medium != "S-MOUNT2" {
		t.Fatalf("rows %+v", rows)
	}
}

func TestMountOfBlockedMediumIsAViolation(t *testing.T) {
	b := mountBed(t)
	b.register("MOUNT3", media.Confidential, media.StatusLost, media.AccessReadWrite, 64<<20)
	// The USB device was allowed (a race: the record changed), the block device blocked.
	u, blk := stick("MOUNT3", 64<<20)
	b.devs.set(u)
	b.devs.set(blk)
	b.store.media[blk.Identity.Key] = media.Medium{Number: "S-MOUNT3", Kind: media.KindUSBDisk, Level: media.Confidential,
		Status: media.StatusActive, Custodian: "zhang", Identity: blk.Identity}
	b.ev("add", stickP, "usb", "usb_device")
	m := b.store.media[blk.Identity.Key]
	m.Status = media.StatusLost
	b.store.media[blk.Identity.Key] = m
	b.ev("add", diskP, "block", "disk")
	if r := b.lastReason(); r == "allowed" {
		t.Fatalf("reason %q", r)
	}
	var notified []Record
	b.d.cfg.Notify = func(r Record) { notified = append(notified, r) }
	b.rec.Reset()
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindMount, "/media/alice/STICK", false))
	rows := b.store.mountRows()
	if len(rows) != 1 || rows[0].kind != KindMountViolation {
		t.Fatalf("rows %+v", rows)
	}
	if ops := b.rec.Ops(); !slices.Contains(ops, "detach "+diskP) {
		t.Errorf("enforcer ops %v, want a detach of the disk", ops)
	}
	if len(notified) != 1 {
		t.Errorf("notified %d times", len(notified))
	} else if m := notified[0].Message; m[0] == "" || m[1] == "" {
		t.Errorf("notified without the decision's words: %q", m)
	}
	// Its unmount is an ordinary detach row.
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindUnmount, "/media/alice/STICK", false))
	if rows := b.store.mountRows(); rows[len(rows)-1].kind != KindMountDetach {
		t.Errorf("last row %s", rows[len(rows)-1].kind)
	}
}

func TestUdisksMountAttributedToTheUser(t *testing.T) {
	b := mountBed(t)
	b.register("MOUNT4", media.Secret, media.StatusActive, media.AccessReadWrite, 64<<20)
	b.plugStick("MOUNT4", 64<<20)
	state := mountwatch.EncodeUdisksMounts([]mountwatch.UdisksMount{
		{MountPoint: "/media/bob/OTHER", Device: mountwatch.Makedev(8, 17), UID: 1001},
		{MountPoint: "/media/alice/STICK", Device: mountwatch.Makedev(8, 1), UID: 1000},
	})
	os.WriteFile(b.d.cfg.Mounts.UdisksState, state, 0o644)
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindMount, "/media/alice/STICK", false))
	d := b.store.mountRows()[0].details.(event.Mount)
	if d.Attribution != AttributionUdisks || d.User != "alice" || d.UID == nil || *d.UID != 1000 {
		t.Errorf("attribution %v user %v uid %v", d.Attribution, d.User, d.UID)
	}
}

func TestMountLogRunsFromTheSource(t *testing.T) {
	b := mountBed(t)
	src := mountwatch.NewFake()
	b.d.cfg.Mounts.Source = src
	b.d.cfg.Mounts.Initial = []mountwatch.Mount{{ID: 90, Major: 8, Minor: 1, Source: "/dev/sda1", FSType: "vfat", Root: "/", MountPoint: "/mnt/z", Options: "rw"}}
	ctx, cancel := context.WithCancel(context.Background())
	stop := b.d.startMounts(ctx)
	src.Push(mountEv(mountwatch.KindUnmount, "/mnt/z", false))
	deadline := time.Now().Add(5 * time.Second)
	for len(b.store.mountRows()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	stop()
	rows := b.store.mountRows()
	if len(rows) != 2 || rows[0].kind != KindMountSeenAtStart || rows[1].kind != KindMountDetach {
		t.Fatalf("rows %+v", rows)
	}
}

func TestReconcileMountsAtStart(t *testing.T) {
	b := mountBed(t)
	logged := func(src, mp string) {
		if _, err := b.store.RecordEvent(b.ctx, KindMountAttach, "S-X", event.Mount{Device: event.MountDevice{Source: src}, MountPoint: mp}); err != nil {
			t.Fatal(err)
		}
	}
	logged("/dev/sda1", "/mnt/still")
	logged("/dev/sdb1", "/mnt/gone")
	still := mountEv(mountwatch.KindSeenAtStart, "/mnt/still", false)
	fresh := mountEv(mountwatch.KindSeenAtStart, "/mnt/new", false)
	b.d.reconcileMounts(b.ctx, []mountwatch.Event{still, fresh})
	rows := b.store.mountRows()[2:] // after the two rows logged above
	if len(rows) != 2 {
		t.Fatalf("rows %+v; want one seen-at-start and one detach", rows)
	}
	if rows[0].kind != KindMountSeenAtStart || rows[0].details.(event.Mount).MountPoint != "/mnt/new" {
		t.Errorf("first row %+v; want seen-at-start of /mnt/new", rows[0])
	}
	d := rows[1].details.(event.Mount)
	if rows[1].kind != KindMountDetach || d.MountPoint != "/mnt/gone" || d.SeenAtStart == "" || d.AttachSeq != 3 || rows[1].medium != "S-X" {
		t.Errorf("second row %+v; want the detach of /mnt/gone found at start", rows[1])
	}
	// Started again with the same table: nothing new to log.
	n := len(b.store.mountRows())
	b.d.reconcileMounts(b.ctx, []mountwatch.Event{still, fresh})
	if got := len(b.store.mountRows()); got != n {
		t.Errorf("a second start logged %d rows again", got-n)
	}
}

// TestWriteDownRemountIsAViolation: a read-write medium below the host's level is
// read-only on it; mounting it read-only is an ordinary row, a read-write remount a
// violation the daemon undoes.
func TestWriteDownRemountIsAViolation(t *testing.T) {
	b := mountBed(t)
	b.register("MOUNT5", media.Confidential, media.StatusActive, media.AccessReadWrite, 64<<20)
	b.plugStick("MOUNT5", 64<<20)
	if r := b.lastReason(); r != "read-only-below-host" {
		t.Fatalf("reason %q", r)
	}
	b.rec.Reset()
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindMount, "/mnt/w", true))
	b.d.HandleMount(b.ctx, mountEv(mountwatch.KindRemountRW, "/mnt/w", false))
	var kinds []event.Kind
	for _, r := range b.store.mountRows() {
		kinds = append(kinds, r.kind)
	}
	if want := []event.Kind{KindMountAttach, KindMountViolation}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	if len(b.rec.Ops()) == 0 {
		t.Error("the read-write remount was not undone")
	}
}
