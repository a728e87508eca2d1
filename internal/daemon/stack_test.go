package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/mountwatch"
)

// addDM makes a device-mapper device dm-N (254:N) in the fake sysfs whose slaves are
// the given devpaths (relative to the sysfs root), as the kernel links them.
func addDM(t *testing.T, sys string, n int, slaves ...string) string {
	t.Helper()
	name := "dm-" + string(rune('0'+n))
	dp := "/devices/virtual/block/" + name
	dir := filepath.Join(sys, dp)
	if err := os.MkdirAll(filepath.Join(dir, "slaves"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range slaves {
		if err := os.Symlink(filepath.Join(sys, s), filepath.Join(dir, "slaves", filepath.Base(s))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(dir, filepath.Join(sys, "dev", "block", "254:"+string(rune('0'+n)))); err != nil {
		t.Fatal(err)
	}
	return dp
}

func dmEv(k mountwatch.Kind, minor uint32, mp string) mountwatch.Event {
	ev := mountEv(k, mp, false)
	ev.Major, ev.Minor, ev.Source, ev.FSType = 254, minor, "/dev/mapper/vault", "ext4"
	return ev
}

// TestMountOfAStackIsLoggedAgainstTheMedium: LUKS or LVM (dm-1 over dm-0 over sda1)
// on a registered stick is logged with the stick's number, not as "virtual".
func TestMountOfAStackIsLoggedAgainstTheMedium(t *testing.T) {
	b := mountBed(t)
	b.register("STACK1", media.Confidential, media.StatusActive, media.AccessReadWrite, 64<<20)
	b.plugStick("STACK1", 64<<20)
	sys := b.d.cfg.Sys
	dm0 := addDM(t, sys, 0, diskP+"/sda1")
	addDM(t, sys, 1, dm0)
	b.d.HandleMount(b.ctx, dmEv(mountwatch.KindMount, 1, "/mnt/vault"))
	b.d.HandleMount(b.ctx, dmEv(mountwatch.KindUnmount, 1, "/mnt/vault"))
	rows := b.store.mountRows()
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		d := r.details.(event.Mount)
		if r.medium != "S-STACK1" || d.Medium != "S-STACK1" || d.Custodian != "zhang" {
			t.Errorf("%s: medium %q, details %+v", r.kind, r.medium, d)
		}
		if dev := d.Device; dev.Name != "dm-1" || dev.Disk != "sda" || dev.Partition != "sda1" {
			t.Errorf("device %+v", dev)
		}
		if st := d.Stack; st == nil || !slices.Equal(st.Via, []string{"dm-1", "dm-0"}) {
			t.Errorf("stack %+v", d.Stack)
		}
	}
}

// TestMountOverSeveralMedia: an md array over partitions of two registered sticks is
// filed under the first and names both; the blocked member makes it a violation that
// detaches that member.
func TestMountOverSeveralMedia(t *testing.T) {
	b := mountBed(t)
	b.register("STACK2", media.Confidential, media.StatusActive, media.AccessReadWrite, 64<<20)
	b.plugStick("STACK2", 64<<20)
	// A second registered stick, present in sysfs but not decided yet (sdb).
	sdbP := "/devices/pci0000:00/0000:00:04.0/usb2/2-6/2-6:1.0/host3/target3:0:0/3:0:0:0/block/sdb"
	os.MkdirAll(filepath.Join(b.d.cfg.Sys, sdbP, "sdb1"), 0o755)
	os.WriteFile(filepath.Join(b.d.cfg.Sys, sdbP, "sdb1", "partition"), []byte("1\n"), 0o644)
	_, blk := stick("STACK3", 64<<20)
	blk.SysPath, blk.Name = sdbP, "sdb"
	b.devs.set(blk)
	b.store.media[blk.Identity.Key] = media.Medium{Number: "S-STACK3", Kind: media.KindUSBDisk, Level: media.Secret,
		Status: media.StatusActive, Custodian: "zhang", Identity: blk.Identity}
	addDM(t, b.d.cfg.Sys, 2, diskP+"/sda1", sdbP+"/sdb1") // md-like: two members
	b.d.HandleMount(b.ctx, dmEv(mountwatch.KindMount, 2, "/mnt/raid"))
	rows := b.store.mountRows()
	if len(rows) != 1 || rows[0].medium != "S-STACK2" {
		t.Fatalf("rows %+v", rows)
	}
	d := rows[0].details.(event.Mount)
	if !slices.Equal(d.Media, []string{"S-STACK2", "S-STACK3"}) || d.Note == "" {
		t.Errorf("media %v, note %q", d.Media, d.Note)
	}
	if d.Stack == nil || len(d.Stack.Under) != 2 || d.Stack.Under[1].Medium != "S-STACK3" || d.Stack.Under[1].Partition != "sdb1" {
		t.Errorf("stack %+v", d.Stack)
	}

	// The first stick is reported lost and decided again: the stack's mount is now a
	// violation, filed under the blocked medium, which is detached.
	m := b.store.media[identity.USBKey("46f4", "0001", "STACK2")]
	m.Status = media.StatusLost
	b.store.media[m.Identity.Key] = m
	b.ev("add", diskP, "block", "disk")
	b.rec.Reset()
	b.d.HandleMount(b.ctx, dmEv(mountwatch.KindRemountRW, 2, "/mnt/raid"))
	rows = b.store.mountRows()
	last := rows[len(rows)-1]
	if last.kind != KindMountViolation || last.medium != "S-STACK2" {
		t.Fatalf("after the loss: %s %q", last.kind, last.medium)
	}
	detached := false
	for _, op := range b.rec.Ops() {
		detached = detached || op == "detach "+diskP
	}
	if !detached {
		t.Errorf("the blocked member was not detached: %v", b.rec.Ops())
	}
}

// TestRootOnLVMIsBaseline: a stack over the host's own disk counts as baseline, so
// its mounts present at start are not logged; a loop device stays "virtual".
func TestStackOverBaselineAndLoop(t *testing.T) {
	b := mountBed(t)
	sys := b.d.cfg.Sys
	vda := filepath.Join(sys, vdaP, "vda2")
	os.MkdirAll(vda, 0o755)
	os.WriteFile(filepath.Join(vda, "partition"), []byte("2\n"), 0o644)
	b.devs.set(identity.Device{Name: "vda", Subsystem: "block", SysPath: vdaP, Bus: "virtio",
		Identity: media.Identity{Kind: media.KindDisk, Key: "devpath:" + vdaP}})
	h := secretHost()
	h.Baseline = []string{"devpath:" + vdaP}
	b.store.host = h
	addDM(t, sys, 3, vdaP+"/vda2")
	b.d.HandleMount(b.ctx, dmEv(mountwatch.KindSeenAtStart, 3, "/"))
	if rows := b.store.mountRows(); len(rows) != 0 {
		t.Errorf("root on LVM over the baseline disk was logged: %+v", rows)
	}
	os.MkdirAll(filepath.Join(sys, "/devices/virtual/block/loop0"), 0o755)
	os.Symlink(filepath.Join(sys, "/devices/virtual/block/loop0"), filepath.Join(sys, "dev", "block", "7:0"))
	ev := dmEv(mountwatch.KindMount, 0, "/mnt/img")
	ev.Major, ev.Source = 7, "/dev/loop0"
	b.d.HandleMount(b.ctx, ev)
	rows := b.store.mountRows()
	if len(rows) != 1 || rows[0].details.(event.Mount).Medium != "virtual" {
		t.Errorf("loop mount rows %+v", rows)
	}
}
