package udev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/kernel-loop7-change.bin was captured from this machine's kernel group
// (a synthetic "change" of loop7); kernel-usb-add.bin and udev-block-add.bin are
// written in the kernel's and libudev's formats with a QEMU stick's values.
func readMsg(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseKernelMessage(t *testing.T) {
	e, err := parseKernelMessage(readMsg(t, "kernel-usb-add.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{Seq: 2291, Action: ActionAdd, DevPath: "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/usb2/2-1",
		Subsystem: "usb", DevType: "usb_device", SysName: "2-1", DevNode: "/dev/bus/usb/002/002"}
	if e.Seq != want.Seq || e.Action != want.Action || e.DevPath != want.DevPath || e.Subsystem != want.Subsystem ||
		e.DevType != want.DevType || e.SysName != want.SysName || e.DevNode != want.DevNode || !e.IsUSBDevice() {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
	if e.Properties["PRODUCT"] != "46f4/1/0" || e.Received.IsZero() {
		t.Errorf("properties %v, received %v", e.Properties, e.Received)
	}

	e, err = parseKernelMessage(readMsg(t, "kernel-loop7-change.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Action != ActionChange || e.DevPath != "/devices/virtual/block/loop7" || !e.IsBlock() || e.Seq != 968 ||
		e.DevNode != "/dev/loop7" || e.Properties["DISKSEQ"] != "8" {
		t.Errorf("loop7: %+v", e)
	}
}

func TestParseUdevMessage(t *testing.T) {
	e, err := parseUdevMessage(readMsg(t, "udev-block-add.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Action != ActionAdd || e.SysName != "sda" || e.DevNode != "/dev/sda" || !e.IsBlock() || e.Seq != 2310 ||
		e.Properties["ID_SERIAL_SHORT"] != "MGBENCHOK01" || e.Properties["ID_FS_LABEL_ENC"] != `A\x20B` {
		t.Errorf("udev block add: %+v", e)
	}
	// A kernel message is not a udev one and the other way round.
	if _, err := parseUdevMessage(readMsg(t, "kernel-usb-add.bin")); err == nil {
		t.Error("a kernel message parsed as udevd's")
	}
	if _, err := parseKernelMessage(readMsg(t, "udev-block-add.bin")); err == nil {
		t.Error("a udev message parsed as the kernel's")
	}
}

func kernelMsg(head string, kv ...string) []byte {
	var b bytes.Buffer
	b.WriteString(head)
	b.WriteByte(0)
	for _, s := range kv {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.Bytes()
}

func TestParseRefusesHostileMessages(t *testing.T) {
	dp := "/devices/pci0000:00/usb2/2-1"
	ok := []string{"ACTION=add", "DEVPATH=" + dp, "SUBSYSTEM=usb", "DEVTYPE=usb_device", "SEQNUM=7"}
	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"no properties", []byte("add@" + dp)},
		{"no @", kernelMsg("add "+dp, ok...)},
		{"header action disagrees", kernelMsg("remove@"+dp, ok...)},
		{"header devpath disagrees", kernelMsg("add@/devices/other", ok...)},
		{"unknown action", kernelMsg("explode@"+dp, "ACTION=explode", "DEVPATH="+dp, "SUBSYSTEM=usb")},
		{"devpath escapes", kernelMsg("add@/devices/../etc", "ACTION=add", "DEVPATH=/devices/../etc", "SUBSYSTEM=usb")},
		{"devpath outside /devices", kernelMsg("add@/etc/x", "ACTION=add", "DEVPATH=/etc/x", "SUBSYSTEM=usb")},
		{"no subsystem", kernelMsg("add@"+dp, "ACTION=add", "DEVPATH="+dp)},
		{"bad seqnum", kernelMsg("add@"+dp, "ACTION=add", "DEVPATH="+dp, "SUBSYSTEM=usb", "SEQNUM=12x")},
		{"repeated action", kernelMsg("add@"+dp, append(ok, "ACTION=remove")...)},
		{"key with a space", kernelMsg("add@"+dp, append(ok, "BAD KEY=1")...)},
		{"property without =", kernelMsg("add@"+dp, append(ok, "NOVALUE")...)},
		{"too large", append(kernelMsg("add@"+dp, ok...), make([]byte, maxMessage)...)},
	}
	many := append([]string(nil), ok...)
	for i := range maxProperties {
		many = append(many, "K"+strings.Repeat("X", i%10)+string(rune('A'+i%26))+string(rune('A'+i/26)))
	}
	for i := range many[len(ok):] {
		many[len(ok)+i] += "=v"
	}
	tests = append(tests, struct {
		name string
		msg  []byte
	}{"too many properties", kernelMsg("add@"+dp, many...)})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := parseKernelMessage(tt.msg); !errors.Is(err, errMessage) {
				t.Errorf("accepted: %+v, %v", e, err)
			}
		})
	}
	// A control character in a device-provided value drops that property only.
	e, err := parseKernelMessage(kernelMsg("add@"+dp, append(ok, "ID_MODEL=a\x1b[2Jb", "ID_VENDOR=ok")...))
	if err != nil {
		t.Fatal(err)
	}
	if _, has := e.Properties["ID_MODEL"]; has || e.Properties["ID_VENDOR"] != "ok" {
		t.Errorf("properties %q", e.Properties)
	}
	// DEVNAME cannot leave /dev.
	e, err = parseKernelMessage(kernelMsg("add@"+dp, append(ok, "DEVNAME=../etc/shadow")...))
	if err != nil || e.DevNode != "" {
		t.Errorf("devnode %q, %v", e.DevNode, err)
	}
}

func TestParseUdevHeaderBounds(t *testing.T) {
	good := readMsg(t, "udev-block-add.bin")
	for _, tc := range []struct {
		name string
		edit func(b []byte)
	}{
		{"bad magic", func(b []byte) { binary.BigEndian.PutUint32(b[8:], 0xcafefeed) }},
		{"offset past the end", func(b []byte) { binary.NativeEndian.PutUint32(b[16:], uint32(len(b))) }},
		{"length past the end", func(b []byte) { binary.NativeEndian.PutUint32(b[20:], 1<<31) }},
		{"offset inside the header", func(b []byte) { binary.NativeEndian.PutUint32(b[16:], 8) }},
		{"short header size", func(b []byte) { binary.NativeEndian.PutUint32(b[12:], 4) }},
		{"prefix", func(b []byte) { b[0] = 'L' }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(good)
			tc.edit(b)
			if _, err := parseUdevMessage(b); !errors.Is(err, errMessage) {
				t.Errorf("accepted (%v)", err)
			}
		})
	}
}

func FuzzParseKernelMessage(f *testing.F) {
	f.Add(readMsg(f, "kernel-usb-add.bin"))
	f.Add(readMsg(f, "kernel-loop7-change.bin"))
	f.Add([]byte("add@/devices/x\x00ACTION=add\x00DEVPATH=/devices/x\x00SUBSYSTEM=usb\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseKernelMessage(b)
		if err != nil {
			return
		}
		checkParsed(t, e)
		if sub, ok := messageSubsystem(groupKernel, b); !ok || sub != e.Subsystem {
			t.Fatalf("the readers' filter finds subsystem %q, %v; the parser %q", sub, ok, e.Subsystem)
		}
	})
}

func FuzzParseUdevMessage(f *testing.F) {
	f.Add(readMsg(f, "udev-block-add.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseUdevMessage(b)
		if err != nil {
			return
		}
		checkParsed(t, e)
		if sub, ok := messageSubsystem(groupUdev, b); !ok || sub != e.Subsystem {
			t.Fatalf("the readers' filter finds subsystem %q, %v; the parser %q", sub, ok, e.Subsystem)
		}
	})
}

// checkParsed is what every accepted event guarantees.
func checkParsed(t *testing.T, e Event) {
	t.Helper()
	if cleanPath(e.DevPath) != e.DevPath || e.DevPath == "" {
		t.Fatalf("devpath %q", e.DevPath)
	}
	if !knownAction(e.Action) || e.Subsystem == "" {
		t.Fatalf("action %q subsystem %q", e.Action, e.Subsystem)
	}
	if e.DevNode != "" && (!strings.HasPrefix(e.DevNode, "/dev/") || path.Clean(e.DevNode) != e.DevNode) {
		t.Fatalf("devnode %q", e.DevNode)
	}
	if len(e.Properties) > maxProperties {
		t.Fatalf("%d properties", len(e.Properties))
	}
	for k, v := range e.Properties {
		if !validKey([]byte(k)) || !validValue([]byte(v)) || len(v) > maxPropertyVal {
			t.Fatalf("property %q=%q", k, v)
		}
	}
}

// The readers drop a message of no interest by its SUBSYSTEM before parsing it; a
// message whose subsystem cannot be found that way is parsed whole.
func TestMessageSubsystem(t *testing.T) {
	for _, c := range []struct {
		group uint32
		msg   []byte
		sub   string
		ok    bool
	}{
		{groupKernel, readMsg(t, "kernel-usb-add.bin"), "usb", true},
		{groupKernel, readMsg(t, "kernel-loop7-change.bin"), "block", true},
		{groupUdev, readMsg(t, "udev-block-add.bin"), "block", true},
		{groupKernel, []byte("add@/devices/x\x00ACTION=add\x00XSUBSYSTEM=usb\x00SUBSYSTEM=net\x00"), "net", true},
		{groupKernel, []byte("add@/devices/x\x00ACTION=add\x00"), "", false},
		{groupKernel, []byte("add@/devices/x"), "", false},
		{groupUdev, []byte("libudev\x00short"), "", false},
		{groupUdev, readMsg(t, "kernel-usb-add.bin"), "", false},
	} {
		if sub, ok := messageSubsystem(c.group, c.msg); sub != c.sub || ok != c.ok {
			t.Errorf("messageSubsystem(%d, %.40q) = %q, %v; want %q, %v", c.group, c.msg, sub, ok, c.sub, c.ok)
		}
	}
}

// One kernel message of a USB device's add, as the kernel group's reader parses every
// message that passes its filter.
func BenchmarkParseKernelMessage(b *testing.B) {
	msg, err := os.ReadFile("testdata/kernel-usb-add.bin")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseKernelMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}
