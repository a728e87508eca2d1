package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// vm is the guest shared by all scenarios; nil when the suite is skipped.
var (
	vm       *testbed.VM
	skipWhy  string
	hasMGBin bool
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("MEDIAGATE_E2E") != "1" {
		skipWhy = "end-to-end VM tests skipped: set MEDIAGATE_E2E=1 (scripts/e2e.sh does that and builds the guest)"
		return m.Run()
	}
	img := os.Getenv("MEDIAGATE_E2E_IMAGE")
	if img == "" {
		fmt.Fprintln(os.Stderr, "e2e: MEDIAGATE_E2E_IMAGE is not set (run scripts/e2e.sh)")
		return 2
	}
	work := os.Getenv("MEDIAGATE_E2E_WORKDIR")
	if work == "" {
		d, err := os.MkdirTemp("", "mge2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 2
		}
		defer os.RemoveAll(d)
		work = d
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	vm, err = testbed.Start(ctx, testbed.Config{
		Kernel:  filepath.Join(img, "vmlinuz"),
		Initrd:  filepath.Join(img, "initrd.img"),
		Image:   filepath.Join(img, "rootfs.qcow2"),
		WorkDir: work,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: boot the guest:", err)
		return 1
	}
	defer vm.Stop()
	ready := vm.Guest().Ready()
	fmt.Printf("e2e: guest up in %s (qemu pid %d, kernel %s, guest uptime %ss); work dir %s\n",
		time.Since(start).Round(100*time.Millisecond), vm.PID(), ready["kernel"], ready["uptime"], work)

	if bin := os.Getenv("MEDIAGATE_BIN"); bin != "" {
		if err := vm.Install(ctx, bin, "/usr/local/bin/mediagate", 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: install mediagate in the guest:", err)
			return 1
		}
		hasMGBin = true
		fmt.Println("e2e: installed", bin, "as /usr/local/bin/mediagate in the guest")
		// mediagate.service runs the daemon binary (cmd/mediagated).
		if dbin := os.Getenv("MEDIAGATE_DAEMON_BIN"); dbin != "" {
			if err := vm.Install(ctx, dbin, "/usr/local/bin/mediagated", 0o755); err != nil {
				fmt.Fprintln(os.Stderr, "e2e: install mediagated in the guest:", err)
				return 1
			}
			fmt.Println("e2e: installed", dbin, "as /usr/local/bin/mediagated in the guest")
		}
	} else {
		fmt.Println("e2e: no mediagate binary given (MEDIAGATE_BIN); scenarios that need it skip")
	}
	return m.Run()
}

// needVM skips the test unless the suite's guest is running.
func needVM(t *testing.T) *testbed.VM {
	t.Helper()
	if vm == nil {
		t.Skip(skipWhy)
	}
	return vm
}

// needMediagate skips the test unless the mediagate binary is installed in the guest.
func needMediagate(t *testing.T) *testbed.VM {
	t.Helper()
	v := needVM(t)
	if !hasMGBin {
		t.Skip("mediagate binary not built (cmd/mediagate missing); set MEDIAGATE_BIN")
	}
	return v
}
