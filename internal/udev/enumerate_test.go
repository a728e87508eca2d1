package udev

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTree writes a sysfs tree with a QEMU stick behind a root hub (device,
// interface, disk, partition) and udevd's records of some of them; it returns the
// sysfs root and the udev database directory.
func fakeTree(t *testing.T) (sys, data string) {
	t.Helper()
	dir := t.TempDir()
	sys, data = filepath.Join(dir, "sys"), filepath.Join(dir, "data")
	hub := "/devices/pci0000:00/0000:00:02.0/usb2"
	stick := hub + "/2-1"
	intf := stick + "/2-1:1.0"
	disk := intf + "/host0/target0:0:0/0:0:0:0/block/sda"
	part := disk + "/sda1"
	files := map[string]string{
		"sys" + hub + "/uevent":   "MAJOR=189\nMINOR=128\nDEVNAME=bus/usb/002/001\nDEVTYPE=usb_device\nDRIVER=usb\nBUSNUM=002\nDEVNUM=001\n",
		"sys" + stick + "/uevent": "MAJOR=189\nMINOR=129\nDEVNAME=bus/usb/002/002\nDEVTYPE=usb_device\nPRODUCT=46f4/1/0\nBAD KEY=x\nHOSTILE=a\x01b\n",
		"sys" + intf + "/uevent":  "DEVTYPE=usb_interface\nDRIVER=usb-storage\nINTERFACE=8/6/80\n",
		"sys" + disk + "/uevent":  "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\nDISKSEQ=9\n",
		"sys" + part + "/uevent":  "MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\nPARTN=1\n",
		"data/c189:129":           "S:bus/usb/by-x\nI:4242\nE:ID_SERIAL_SHORT=MEDIA0001\nE:ID_BUS=usb\nG:uaccess\nQ:uaccess\nX:unknown line\n",
		"data/+usb:2-1:1.0":       "E:ID_USB_INTERFACE_NUM=00\n",
		"data/b8:1":               "S:disk/by-id/usb-QEMU-part1\nS:../etc/passwd\nE:ID_FS_TYPE=vfat\nE:DEVTYPE=partition\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"bus/usb/devices/usb2":     "../../.." + hub,
		"bus/usb/devices/2-1":      "../../.." + stick,
		"bus/usb/devices/2-1:1.0":  "../../.." + intf,
		"bus/usb/devices/2-9":      "../../../devices/pci0000:00/0000:00:02.0/usb2/2-9", // gone while listed
		"bus/usb/devices/escape":   "../../../../etc",                                   // not below /devices
		"class/block/sda":          "../.." + disk,
		"class/block/sda1":         "../.." + part,
		"class/block/zz-elsewhere": "/devices/virtual/block/loop0", // absolute: not a sysfs link
	}
	for name, target := range links {
		p := filepath.Join(sys, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return sys, data
}

func TestEnumerateSysfs(t *testing.T) {
	sys, data := fakeTree(t)
	evs, err := enumerate(sys, data)
	if err != nil {
		t.Fatal(err)
	}
	hub := "/devices/pci0000:00/0000:00:02.0/usb2"
	want := []struct{ devpath, subsystem, devtype, sysname, node string }{
		{hub, "usb", "usb_device", "usb2", "/dev/bus/usb/002/001"},
		{hub + "/2-1", "usb", "usb_device", "2-1", "/dev/bus/usb/002/002"},
		{hub + "/2-1/2-1:1.0", "usb", "usb_interface", "2-1:1.0", ""},
		{hub + "/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0/block/sda", "block", "disk", "sda", "/dev/sda"},
		{hub + "/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0/block/sda/sda1", "block", "partition", "sda1", "/dev/sda1"},
	}
	if len(evs) != len(want) {
		t.Fatalf("enumerated %d devices, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		e := evs[i]
		if e.DevPath != w.devpath || e.Subsystem != w.subsystem || e.DevType != w.devtype || e.SysName != w.sysname ||
			e.DevNode != w.node || e.Action != ActionAdd || !e.Enumerated || e.Seq != 0 || e.Received.IsZero() {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
		if e.Properties["DEVPATH"] != w.devpath || e.Properties["SUBSYSTEM"] != w.subsystem {
			t.Errorf("event %d properties %v", i, e.Properties)
		}
		if w.node != "" && e.Properties["DEVNAME"] != w.node {
			t.Errorf("event %d DEVNAME %q, want the node's path %q", i, e.Properties["DEVNAME"], w.node)
		}
	}
	stick := evs[1].Properties
	for k, v := range map[string]string{"ID_SERIAL_SHORT": "MEDIA0001", "ID_BUS": "usb", "PRODUCT": "46f4/1/0",
		"DEVLINKS": "/dev/bus/usb/by-x", "TAGS": ":uaccess:", "CURRENT_TAGS": ":uaccess:", "USEC_INITIALIZED": "4242"} {
		if stick[k] != v {
			t.Errorf("stick %s = %q, want %q (%v)", k, stick[k], v, stick)
		}
	}
	if _, ok := stick["HOSTILE"]; ok {
		t.Errorf("a value with a control character was kept: %v", stick)
	}
	if _, ok := stick["BAD KEY"]; ok {
		t.Errorf("a bad key was kept: %v", stick)
	}
	if evs[2].Properties["ID_USB_INTERFACE_NUM"] != "00" {
		t.Errorf("interface without its +usb: record: %v", evs[2].Properties)
	}
	if _, ok := evs[3].Properties["ID_FS_TYPE"]; ok {
		t.Errorf("the disk got its partition's record: %v", evs[3].Properties)
	}
	if p := evs[4].Properties; p["ID_FS_TYPE"] != "vfat" || p["DEVLINKS"] != "/dev/disk/by-id/usb-QEMU-part1" {
		t.Errorf("partition: %v (a link leaving /dev must be dropped)", p)
	}
}

func TestEnumerateWithoutUdevd(t *testing.T) {
	sys, _ := fakeTree(t)
	evs, err := enumerate(sys, filepath.Join(t.TempDir(), "no-data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Fatalf("enumerated %d devices without udevd's database, want all 5", len(evs))
	}
	if _, ok := evs[1].Properties["ID_SERIAL_SHORT"]; ok || evs[1].Properties["PRODUCT"] != "46f4/1/0" {
		t.Errorf("without udevd only the kernel's properties: %v", evs[1].Properties)
	}
}

func TestEnumerateNoUSB(t *testing.T) {
	evs, err := enumerate(t.TempDir(), t.TempDir())
	if err != nil || len(evs) != 0 {
		t.Fatalf("a system without usb and block classes: %v, %v", evs, err)
	}
}

// A present device whose files cannot be read is an error, never a device left out.
func TestEnumerateFailsOnUnreadable(t *testing.T) {
	sys, data := fakeTree(t)
	big := filepath.Join(sys, "devices/pci0000:00/0000:00:02.0/usb2/2-1/uevent")
	if err := os.WriteFile(big, []byte(strings.Repeat("A=b\n", maxUeventFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := enumerate(sys, data); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("an oversized uevent file: %v", err)
	}
	sys, data = fakeTree(t)
	if err := os.WriteFile(filepath.Join(data, "b8:1"), []byte(strings.Repeat("E:A=b\n", maxUdevDBFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := enumerate(sys, data); err == nil || !strings.Contains(err.Error(), "udev database") {
		t.Fatalf("an oversized udev record: %v", err)
	}
}

func TestEnumerateTooManyProperties(t *testing.T) {
	sys, data := fakeTree(t)
	var b strings.Builder
	for i := range maxProperties + 10 {
		b.WriteString("E:K" + strings.Repeat("X", i%7) + string(rune('A'+i%26)) + string(rune('A'+i/26)) + "=v\n")
	}
	if err := os.WriteFile(filepath.Join(data, "b8:1"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	evs, err := enumerate(sys, data)
	if err != nil || len(evs) != 5 {
		t.Fatalf("%d devices, %v", len(evs), err)
	}
	if evs[4].Properties != nil || evs[4].DevType != "partition" {
		t.Errorf("a device with too many properties is listed without them: %+v", evs[4])
	}
}

func TestUdevID(t *testing.T) {
	for _, c := range []struct {
		sub, name, maj, min, want string
	}{
		{"block", "sda", "8", "0", "b8:0"},
		{"usb", "2-1", "189", "129", "c189:129"},
		{"usb", "2-1:1.0", "", "", "+usb:2-1:1.0"},
		{"usb", "a!b", "", "", ""},
		{"block", "sda", "8x", "0", "+block:sda"},
	} {
		props := map[string]string{}
		if c.maj != "" {
			props["MAJOR"], props["MINOR"] = c.maj, c.min
		}
		if got := udevID(c.sub, c.name, props); got != c.want {
			t.Errorf("udevID(%s, %s, %s:%s) = %q, want %q", c.sub, c.name, c.maj, c.min, got, c.want)
		}
	}
}

// FuzzEnumerateFiles: the uevent file and the udev database record are outside input
// (a device names itself); whatever they hold, the properties kept are well-formed
// and bounded.
func FuzzEnumerateFiles(f *testing.F) {
	f.Add([]byte("MAJOR=8\nMINOR=0\nDEVNAME=sda\n"), []byte("E:ID_FS_TYPE=vfat\nS:disk/by-id/x\nG:t\nQ:t\nI:12\n"))
	f.Add([]byte("A=\x00\nB==\n=C\n"), []byte("S:../../x\nE:\nE:K=\x7f\n"))
	f.Fuzz(func(t *testing.T, uevent, db []byte) {
		props := parseUeventFile(uevent)
		mergeUdevDB(props, db)
		if len(props) > maxProperties+1 {
			t.Fatalf("%d properties kept", len(props))
		}
		for k, v := range props {
			if !validKey([]byte(k)) || !validValue([]byte(v)) || len(v) > maxPropertyVal {
				t.Fatalf("kept %q=%q", k, v)
			}
		}
	})
}
