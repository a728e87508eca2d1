// Package testbed drives the real-kernel end-to-end test bed of mediagate: a QEMU guest
// (Debian bookworm, built by scripts/vm/build-image.sh) with an xHCI controller into which
// tests hot-plug USB sticks, CD drives, keyboards and network cards over QMP, and a guest
// runner that executes shell commands in the guest through a 9p share.
//
// A scenario looks like:
//
//	g := vm.Guest()
//	stick := vm.PlugStick(t, "MEDIA0001", testbed.Files{"hello.txt": []byte("hi\n")})
//	g.WaitFor(t, 20*time.Second, testbed.USBDeviceBySerial("MEDIA0001"))
//	out := g.MustRun(t, "lsblk -o NAME,SERIAL")
//	vm.Unplug(t, stick.ID)
//
// The VM itself is started once per test binary (see internal/e2e); every scenario removes
// what it plugged (automatically, at the end of the test).
package testbed
