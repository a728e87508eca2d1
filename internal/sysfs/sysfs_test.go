package sysfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestUdevRuleListsTheVirtualDevices keeps rules/71-mediagate.rules and
// VirtualBlockPrefixes in step: a device the daemon ignores as virtual must be one the
// rule leaves to udisks, and the other way round.
func TestUdevRuleListsTheVirtualDevices(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "rules", "71-mediagate.rules"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^KERNEL=="([^"]*)", GOTO="mediagate_end"$`).FindAllStringSubmatch(string(b), -1)
	if len(m) != 1 {
		t.Fatalf("want one KERNEL==…, GOTO=\"mediagate_end\" line in the rules, found %d", len(m))
	}
	var rule []string
	for _, g := range strings.Split(m[0][1], "|") {
		p, ok := strings.CutSuffix(g, "*")
		if !ok || strings.ContainsAny(p, "*?[") {
			t.Fatalf("rule pattern %q is not a plain prefix glob", g)
		}
		rule = append(rule, p)
	}
	if !slices.Equal(rule, VirtualBlockPrefixes) {
		t.Errorf("rule lists %q, Go lists %q", rule, VirtualBlockPrefixes)
	}
	if m[0][1] != UdevKernelMatch() {
		t.Errorf("UdevKernelMatch %q, rule %q", UdevKernelMatch(), m[0][1])
	}
}

func TestIsVirtualBlock(t *testing.T) {
	for name, want := range map[string]bool{
		"loop0": true, "ram1": true, "zram0": true, "dm-3": true, "md127": true, "nbd0": true, "zd16": true,
		"sda": false, "sr0": false, "mmcblk0": false, "nvme0n1": false, "vdb": false, "dm": false,
	} {
		if got := IsVirtualBlock(name); got != want {
			t.Errorf("IsVirtualBlock(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/media/a\040b`:      "/media/a b",
		`/x\011\012\134\043`: "/x\t\n\\#",
		`/plain`:             "/plain",
		`/end\040`:           "/end ",    // an escape at the very end
		`/big\400`:           `/big\400`, // above \377: not a byte, kept
		`/big\777x`:          `/big\777x`,
		`/short\04`:          `/short\04`,
		`/notoct\089`:        `/notoct\089`,
		`\`:                  `\`,
		`/hi\377`:            "/hi\xff",
	} {
		if got := UnescapeMount(in); got != want {
			t.Errorf("UnescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzUnescapeMount(f *testing.F) {
	for _, s := range []string{`/media/a\040b`, `\777`, `\`, `\12`, `/x\134\134`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u := UnescapeMount(s)
		if len(u) > len(s) {
			t.Fatalf("unescaping %q grew it to %q", s, u)
		}
		if !strings.Contains(s, `\`) && u != s {
			t.Fatalf("%q without escapes changed to %q", s, u)
		}
		// Escaping what the kernel escapes and unescaping gives the text back.
		var b strings.Builder
		for i := 0; i < len(u); i++ {
			switch c := u[i]; c {
			case ' ', '\t', '\n', '\\', '#':
				b.WriteString(`\` + string(rune('0'+c>>6)) + string(rune('0'+(c>>3)&7)) + string(rune('0'+c&7)))
			default:
				b.WriteByte(c)
			}
		}
		if got := UnescapeMount(b.String()); got != u {
			t.Fatalf("round trip of %q: %q", u, got)
		}
	})
}

func TestPaths(t *testing.T) {
	d := DefaultPaths()
	if d.ControlSocket() != "/run/mediagate/control.sock" || d.SelfMountinfo() != "/proc/self/mountinfo" || d.AllowDir() != "/run/mediagate/allow" {
		t.Errorf("defaults: %+v → %s %s %s", d, d.ControlSocket(), d.SelfMountinfo(), d.AllowDir())
	}
	p := Paths{Run: "/tmp/r", Proc: "/tmp/p"}
	if p.ControlSocket() != "/tmp/r/control.sock" || p.SelfMountinfo() != "/tmp/p/self/mountinfo" || p.AllowDir() != "/tmp/r/allow" {
		t.Errorf("derived: %s %s %s", p.ControlSocket(), p.SelfMountinfo(), p.AllowDir())
	}
	p.Socket = "/elsewhere.sock"
	if p.ControlSocket() != "/elsewhere.sock" {
		t.Errorf("explicit socket: %s", p.ControlSocket())
	}
}

// tree builds a small sysfs: a USB stick 2-1 with disk sda and partition sda1, a SATA
// disk sdb, a loop device, a root hub and an interface.
func tree(t *testing.T) string {
	t.Helper()
	sys := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(sys, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		mk(filepath.Dir(name))
		if err := os.Symlink(filepath.Join(sys, target), filepath.Join(sys, name)); err != nil {
			t.Fatal(err)
		}
	}
	usb := "devices/pci0000:00/0000:00:14.0/usb2/2-1"
	sda := usb + "/2-1:1.0/host0/target0:0:0/0:0:0:0/block/sda"
	mk(sda + "/sda1")
	if err := os.WriteFile(filepath.Join(sys, sda, "sda1", "partition"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sdb := "devices/pci0000:00/0000:00:17.0/ata1/host1/target1:0:0/1:0:0:0/block/sdb"
	mk(sdb)
	mk("devices/virtual/block/loop0")
	link(sda, "class/block/sda")
	link(sda+"/sda1", "class/block/sda1")
	link(sdb, "class/block/sdb")
	link("devices/virtual/block/loop0", "class/block/loop0")
	link(usb, "bus/usb/devices/2-1")
	link("devices/pci0000:00/0000:00:14.0/usb2", "bus/usb/devices/usb2")
	link(usb+"/2-1:1.0", "bus/usb/devices/2-1:1.0")
	link(sda+"/sda1", "dev/block/8:1")
	link(sdb, "dev/block/8:16")
	link("/outside", "class/block/sdz") // points outside devices/: skipped
	return sys
}

func TestDisksAndUSBDevices(t *testing.T) {
	sys := tree(t)
	disks, err := Disks(sys)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range disks {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"sda", "sdb"}) || !strings.HasSuffix(disks[0].DevPath, "/block/sda") || !strings.HasPrefix(disks[0].DevPath, "/devices/") {
		t.Errorf("disks %+v", disks)
	}
	usbs, err := USBDevices(sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(usbs) != 1 || usbs[0].Name != "2-1" || usbs[0].DevPath != "/devices/pci0000:00/0000:00:14.0/usb2/2-1" {
		t.Errorf("usb devices %+v", usbs)
	}
	under := DisksUnder(sys, usbs[0].DevPath)
	if len(under) != 1 || under[0] != disks[0].DevPath {
		t.Errorf("disks under 2-1: %q", under)
	}
	if units := UnitsUnder(sys, usbs[0].DevPath); !slices.Equal(units, []string{"/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0"}) {
		t.Errorf("units under 2-1: %q", units)
	}
	// A second logical unit whose disk is not announced yet counts as a unit only.
	lun1 := filepath.Join(sys, "devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host0/target0:0:0/0:0:0:1")
	if err := os.MkdirAll(lun1, 0o755); err != nil {
		t.Fatal(err)
	}
	if units := UnitsUnder(sys, usbs[0].DevPath); len(units) != 2 || !strings.HasSuffix(units[1], "/0:0:0:1") {
		t.Errorf("units under 2-1 with a second LUN: %q", units)
	}
	if under := DisksUnder(sys, usbs[0].DevPath); len(under) != 1 {
		t.Errorf("disks under 2-1 with a second LUN without a disk: %q", under)
	}
	// Power management and endpoint directories hold no devices: the walks do not enter
	// them (a "block" directory planted there is not a disk).
	for _, d := range []string{"2-1:1.0/power/block/sdx", "2-1:1.0/ep_81/block/sdy", "power/block/sdz"} {
		if err := os.MkdirAll(filepath.Join(sys, "devices/pci0000:00/0000:00:14.0/usb2/2-1", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if under := DisksUnder(sys, usbs[0].DevPath); len(under) != 1 {
		t.Errorf("disks under 2-1 with power and endpoint directories: %q", under)
	}
	// The one walk the daemon makes finds what the two find.
	if disks, units := DisksAndUnitsUnder(sys, usbs[0].DevPath); !slices.Equal(disks, DisksUnder(sys, usbs[0].DevPath)) ||
		!slices.Equal(units, UnitsUnder(sys, usbs[0].DevPath)) {
		t.Errorf("DisksAndUnitsUnder: %q, %q", disks, units)
	}
	for name, want := range map[string]bool{"0:0:0:1": true, "10:0:2:31": true, "0:0:0": false, "a:0:0:0": false, "0:0::0": false, "target0:0:0": false} {
		if got := isSCSIAddress(name); got != want {
			t.Errorf("isSCSIAddress(%q) = %v", name, got)
		}
	}
	n, ok := BlockByDevnum(sys, "8:1")
	if !ok || n.Name != "sda1" || n.Partition != "sda1" || n.Disk != disks[0].DevPath {
		t.Errorf("8:1 → %+v %v", n, ok)
	}
	n, ok = BlockByDevnum(sys, "8:16")
	if !ok || n.Name != "sdb" || n.Partition != "" || n.Disk != n.DevPath {
		t.Errorf("8:16 → %+v %v", n, ok)
	}
	if _, ok := BlockByDevnum(sys, "9:9"); ok {
		t.Error("a device number sysfs does not have was found")
	}
	if d, err := Disks(filepath.Join(sys, "missing")); err != nil || d != nil {
		t.Errorf("missing root: %v %v", d, err)
	}
}

// stackTree is a fake sysfs: sdb1 and sdc1 (partitions of two sticks), md0 over both,
// dm-0 (LUKS) over md0p1, dm-1 (LVM) over dm-0, and loop0 with no slaves.
func stackTree(t *testing.T) string {
	t.Helper()
	sys := t.TempDir()
	mk := func(p string, files ...string) string {
		d := filepath.Join(sys, p)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			os.WriteFile(filepath.Join(d, f), []byte("1\n"), 0o644)
		}
		return d
	}
	link := func(from, slave string) {
		mk(filepath.Join(from, "slaves"))
		if err := os.Symlink(filepath.Join(sys, slave), filepath.Join(sys, from, "slaves", filepath.Base(slave))); err != nil {
			t.Fatal(err)
		}
	}
	mk("/devices/usb/sdb/sdb1", "partition")
	mk("/devices/usb/sdc/sdc1", "partition")
	mk("/devices/virtual/block/md0/md0p1", "partition")
	mk("/devices/virtual/block/dm-0")
	mk("/devices/virtual/block/dm-1")
	mk("/devices/virtual/block/loop0")
	link("/devices/virtual/block/md0", "/devices/usb/sdc/sdc1")
	link("/devices/virtual/block/md0", "/devices/usb/sdb/sdb1")
	link("/devices/virtual/block/dm-0", "/devices/virtual/block/md0/md0p1")
	link("/devices/virtual/block/dm-1", "/devices/virtual/block/dm-0")
	return sys
}

func TestUnderlying(t *testing.T) {
	sys := stackTree(t)
	st, err := Underlying(sys, "/devices/virtual/block/dm-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Via, " "); got != "dm-1 dm-0 md0" {
		t.Errorf("via %q", got)
	}
	if len(st.Under) != 2 || st.Under[0].Name != "sdb1" || st.Under[0].Disk != "/devices/usb/sdb" ||
		st.Under[0].Partition != "sdb1" || st.Under[1].Name != "sdc1" {
		t.Errorf("under %+v", st.Under)
	}
	if st, err := Underlying(sys, "/devices/virtual/block/loop0"); err != nil || len(st.Under) != 0 || len(st.Via) != 1 {
		t.Errorf("loop0: %+v, %v", st, err)
	}

	// A loop: dm-0's slaves lead back to dm-1.
	if err := os.Symlink(filepath.Join(sys, "/devices/virtual/block/dm-1"), filepath.Join(sys, "/devices/virtual/block/dm-0/slaves/dm-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := Underlying(sys, "/devices/virtual/block/dm-1"); !errors.Is(err, ErrStackLoop) {
		t.Errorf("loop: %v", err)
	}
}

func TestUnderlyingIsBounded(t *testing.T) {
	sys := t.TempDir()
	// dm-0 → dm-1 → … → dm-19: deeper than MaxStackDepth
	for i := range 20 {
		os.MkdirAll(filepath.Join(sys, "devices/virtual/block", fmt.Sprintf("dm-%d", i), "slaves"), 0o755)
	}
	for i := range 19 {
		os.Symlink(filepath.Join(sys, "devices/virtual/block", fmt.Sprintf("dm-%d", i+1)),
			filepath.Join(sys, "devices/virtual/block", fmt.Sprintf("dm-%d", i), "slaves", fmt.Sprintf("dm-%d", i+1)))
	}
	if _, err := Underlying(sys, "/devices/virtual/block/dm-0"); !errors.Is(err, ErrStackTooDeep) {
		t.Errorf("deep: %v", err)
	}
	// one dm over 100 disks: more than MaxStackNodes
	wide := t.TempDir()
	os.MkdirAll(filepath.Join(wide, "devices/virtual/block/dm-0/slaves"), 0o755)
	for i := range 100 {
		d := filepath.Join(wide, "devices/pci/sd"+fmt.Sprint(i))
		os.MkdirAll(d, 0o755)
		os.Symlink(d, filepath.Join(wide, "devices/virtual/block/dm-0/slaves", "sd"+fmt.Sprint(i)))
	}
	if _, err := Underlying(wide, "/devices/virtual/block/dm-0"); !errors.Is(err, ErrStackTooDeep) {
		t.Errorf("wide: %v", err)
	}
}
