package sysfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func usbTree(t *testing.T, sys, devpath, devnum string) string {
	t.Helper()
	dir := filepath.Join(sys, devpath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"busnum": "2\n", "devnum": devnum + "\n", "descriptors": "\x12\x01\x00\x02", "authorized": "0\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDirReadsAndWritesTheDirectoryItOpened(t *testing.T) {
	sys := t.TempDir()
	const dp = "/devices/pci0000:00/usb2/2-1"
	dir := usbTree(t, sys, dp, "5")
	d, err := OpenDir(sys, dp)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := d.USBStamp()
	if err != nil {
		t.Fatal(err)
	}
	if want := MakeUSBStamp("2", "5", []byte("\x12\x01\x00\x02")); st != want || st.IsZero() {
		t.Errorf("stamp %+v, want %+v", st, want)
	}
	if !d.Exists("authorized") || d.Exists("nope") || d.Exists("../2-1") {
		t.Error("Exists")
	}
	if err := d.WriteFile("authorized", "1"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "authorized")); string(b) != "1" {
		t.Errorf("authorized = %q", b)
	}
	for _, bad := range []string{"", "..", "a/b", "x\x00"} {
		if _, err := d.ReadFile(bad, 10); err == nil {
			t.Errorf("ReadFile(%q) succeeded", bad)
		}
		if err := d.WriteFile(bad, "1"); err == nil {
			t.Errorf("WriteFile(%q) succeeded", bad)
		}
	}
	if _, err := d.ReadFile("descriptors", 2); err == nil {
		t.Error("a file above the limit was read")
	}

	// Another device takes the path: the held directory still names the old one.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	usbTree(t, sys, dp, "6")
	if err := d.WriteFile("authorized", "0"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "authorized")); string(b) != "0\n" { // as usbTree wrote it
		t.Errorf("the write reached the new device: authorized = %q", b)
	}
	if again, err := d.USBStamp(); err != nil || again != st {
		t.Errorf("stamp through the held directory %+v, %v", again, err)
	}
	fresh, err := OpenDir(sys, dp)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if st2, _ := fresh.USBStamp(); st2 == st {
		t.Error("the new device has the old device's stamp")
	}

	// The old device goes away entirely: everything through its directory fails.
	if err := os.RemoveAll(dir + ".old"); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("authorized", "1"); !errors.Is(err, ErrGone) {
		t.Errorf("write to a removed device: %v", err)
	}
	if _, err := d.USBStamp(); !errors.Is(err, ErrGone) {
		t.Errorf("stamp of a removed device: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "authorized")); string(b) != "0\n" {
		t.Errorf("authorized of the new device = %q", b)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	var nilDir *Dir
	if err := nilDir.Close(); err != nil {
		t.Error(err)
	}
}

func TestOpenDirRefusesPathsOutsideDevices(t *testing.T) {
	sys := t.TempDir()
	usbTree(t, sys, "/devices/x/2-1", "1")
	os.MkdirAll(filepath.Join(sys, "class"), 0o755)
	os.Symlink("/", filepath.Join(sys, "devices", "escape"))
	for _, p := range []string{"/class", "devices/x/2-1", "/devices/../class", "/devices/escape", "/devices/x/2-9"} {
		if d, err := OpenDir(sys, p); err == nil {
			d.Close()
			t.Errorf("OpenDir(%q) succeeded", p)
		}
	}
	if _, err := OpenDir(sys, "/devices/x/2-9"); !errors.Is(err, ErrGone) {
		t.Errorf("a missing device: %v", err)
	}
	if _, err := OpenDir(sys, "/devices/x/2-1/busnum"); err == nil {
		t.Error("a file opened as a directory")
	}
}

func TestOpenResolvedDir(t *testing.T) {
	sys, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	usbTree(t, sys, "/devices/x/2-1", "1")
	os.MkdirAll(filepath.Join(sys, "class"), 0o755)
	os.Symlink("/", filepath.Join(sys, "devices", "escape"))
	d, err := OpenResolvedDir(sys, sys+"/devices/x/2-1")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := d.ReadFile("authorized", 8); err != nil || string(b) != "0\n" { // as usbTree wrote it
		t.Errorf("authorized %q, %v", b, err)
	}
	d.Close()
	for _, p := range []string{sys + "/class", sys + "/devices/../class", sys + "/devices/x/../../class", "/devices/x/2-1", sys + "/devices/escape"} {
		if d, err := OpenResolvedDir(sys, p); err == nil {
			d.Close()
			t.Errorf("OpenResolvedDir(%q) succeeded", p)
		}
	}
	if _, err := OpenResolvedDir(sys, sys+"/devices/x/2-9"); !errors.Is(err, ErrGone) {
		t.Errorf("a missing device: %v", err)
	}
}

// An attribute larger than one read comes whole; one larger than the limit not at all.
func TestReadFileLargeAttribute(t *testing.T) {
	sys := t.TempDir()
	usbTree(t, sys, "/devices/x/2-1", "1")
	big := bytes.Repeat([]byte{0x12, 0x01, 0x00, 0x02}, 2600) // 10,400 bytes
	if err := os.WriteFile(filepath.Join(sys, "devices/x/2-1/descriptors"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(sys, "/devices/x/2-1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, limit := range []int64{int64(len(big)), 1 << 16} {
		if b, err := d.ReadFile("descriptors", limit); err != nil || !bytes.Equal(b, big) {
			t.Errorf("limit %d: %d bytes, %v", limit, len(b), err)
		}
	}
	for _, limit := range []int64{int64(len(big)) - 1, 4095, 4096} {
		if _, err := d.ReadFile("descriptors", limit); err == nil {
			t.Errorf("limit %d: %d bytes read", limit, len(big))
		}
	}
}

func TestExists(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "partition"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"partition": true, "dangling": true, "missing": false, "partition/x": false} {
		if got := Exists(filepath.Join(dir, name)); got != want {
			t.Errorf("Exists(%s) = %v, want %v", name, got, want)
		}
	}
}

// openFDs counts the process's open file descriptors, or -1 where /proc is not there.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func TestDirKeepsAnAttributeOpen(t *testing.T) {
	sys := t.TempDir()
	const dp = "/devices/pci0000:00/usb2/2-1"
	dir := usbTree(t, sys, dp, "5")
	attr := filepath.Join(dir, "authorized")
	before := openFDs(t)
	d, err := OpenDir(sys, dp)
	if err != nil {
		t.Fatal(err)
	}
	d.Keep("authorized")
	if b, err := d.ReadFile("authorized", 16); err != nil || string(b) != "0\n" {
		t.Fatalf("kept read: %q, %v", b, err)
	}
	// Every read is from the start, afresh.
	if err := os.WriteFile(attr, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := d.ReadFile("authorized", 16); err != nil || string(b) != "1\n" {
		t.Errorf("kept read after a change: %q, %v", b, err)
	}
	if _, err := d.ReadFile("authorized", 1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("kept read above the limit: %v", err)
	}
	// A write goes to the kept file, whole, as the attribute reads.
	if err := d.WriteFile("authorized", "0"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(attr); string(b) != "0\n" {
		t.Errorf("after the kept write: %q", b)
	}
	// Other attributes are read as before.
	if b, err := d.ReadFile("devnum", 16); err != nil || string(b) != "5\n" {
		t.Errorf("devnum: %q, %v", b, err)
	}
	if n := openFDs(t); before >= 0 && n != before+3 {
		t.Errorf("%d descriptors open while the attribute is kept, want %d (the directory, the attribute, and devnum's until Close)", n, before+3)
	}
	// Another device takes the path: the kept attribute is still the old device's.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	usbTree(t, sys, dp, "6")
	if err := d.WriteFile("authorized", "1"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(attr); string(b) != "0\n" {
		t.Errorf("the kept write reached the new device: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir+".old", "authorized")); string(b) != "1\n" {
		t.Errorf("the old device's attribute: %q", b)
	}
	// Keeping another attribute lets the first go; Close lets everything go.
	d.Keep("devnum")
	if n := openFDs(t); before >= 0 && n != before+2 {
		t.Errorf("%d descriptors open after keeping another attribute, want %d", n, before+2)
	}
	if b, err := d.ReadFile("devnum", 16); err != nil || string(b) != "5\n" {
		t.Errorf("kept devnum of the old device: %q, %v", b, err)
	}
	d.Keep("../devnum") // not a file name: ignored
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d descriptors open after Close, want %d", n, before)
	}
	if _, err := d.ReadFile("devnum", 16); err == nil {
		t.Error("read through a closed directory")
	}
}

// The attributes read through a directory are closed with it, at most six held.
func TestDirClosesItsReadsWithIt(t *testing.T) {
	sys := t.TempDir()
	const dp = "/devices/pci0000:00/usb2/2-1"
	dir := usbTree(t, sys, dp, "5")
	for i := range 10 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("attr%d", i)), []byte{'a' + byte(i), '\n'}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := openFDs(t)
	if before < 0 {
		t.Skip("no /proc/self/fd")
	}
	d, err := OpenDir(sys, dp)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if b, err := d.ReadFile(fmt.Sprintf("attr%d", i), 16); err != nil || string(b) != string([]byte{'a' + byte(i), '\n'}) {
			t.Fatalf("attr%d: %q, %v", i, b, err)
		}
		if n, want := openFDs(t), before+1+min(i+1, 6); n != want {
			t.Errorf("after %d reads: %d descriptors open, want %d", i+1, n, want)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d descriptors open after Close, want %d", n, before)
	}
}
