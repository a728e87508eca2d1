package e2e

import (
	"testing"

	"mediagate/internal/testbed"
)

// TestDaemonSpoofedContainerBlocked: the host profile allows VID:PID 46f4:0001 pinned
// as a boot keyboard (03/01/01). A mass-storage device presenting that VID:PID — every
// QEMU stick does — is not a container and not a keyboard: the whole USB device stays
// unauthorized (allow-entry-mismatch) and no disk ever appears behind it. Before the
// pinning, an allowed VID:PID made any storage device a container, authorized, with
// only the disk behind it decided.
func TestDaemonSpoofedContainerBlocked(t *testing.T) {
	v, g := needDaemon(t)
	mark := kernelMark(t, g)
	g.MustRun(t, "mediagate host init --yes --number VM-01 --level secret --allow-device 46f4:0001=03/01/01")
	t.Cleanup(func() { g.Exec(t, "mediagate host init --yes --number VM-01 --level secret") })

	v.PlugStick(t, "SPOOF0001", testbed.Files{"secret.txt": []byte("walks out\n")})
	expectBlocked(t, g, "SPOOF0001", "allow-entry-mismatch")
	if n := attachedSince(t, g, mark); n != 0 {
		t.Errorf("the kernel attached %d SCSI disk(s) behind the spoofing device", n)
	}
}
