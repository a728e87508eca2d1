package testbed

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Guest addresses on QEMU's user-mode network (slirp): the guest takes GuestIP, and
// HostIP reaches the test machine's loopback (a server listening on 127.0.0.1 there).
const (
	GuestIP = "10.0.2.15"
	HostIP  = "10.0.2.2"
)

// AddUserNIC hot-plugs a virtio network card on a free PCIe root port, backed by
// QEMU's user-mode network (no other host is reachable), and returns its device id.
// RemoveNIC takes it out again; until then the root port is taken (ErrNoFreePort for
// AddPCIDisk when none is left).
func (v *VM) AddUserNIC(ctx context.Context) (string, error) {
	id := v.newID("nic")
	v.mu.Lock()
	port := ""
	for _, p := range PCIPorts {
		if _, used := v.ports[p]; !used {
			port = p
			v.ports[p] = id
			break
		}
	}
	v.mu.Unlock()
	if port == "" {
		return "", ErrNoFreePort
	}
	release := func() {
		v.mu.Lock()
		delete(v.ports, port)
		v.mu.Unlock()
	}
	if _, err := v.qmp.Execute(ctx, "netdev_add", map[string]any{"type": "user", "id": id + "-net"}); err != nil {
		release()
		return "", err
	}
	if _, err := v.qmp.Execute(ctx, "device_add", map[string]any{"driver": "virtio-net-pci", "bus": port,
		"netdev": id + "-net", "id": id, "mac": "52:54:00:12:34:56"}); err != nil {
		_, _ = v.qmp.Execute(ctx, "netdev_del", map[string]any{"id": id + "-net"})
		release()
		return "", err
	}
	return id, nil
}

// RemoveNIC unplugs a card added by AddUserNIC and deletes its network backend.
func (v *VM) RemoveNIC(ctx context.Context, id string) error {
	if err := v.Remove(ctx, id); err != nil {
		return err
	}
	if _, err := v.qmp.Execute(ctx, "netdev_del", map[string]any{"id": id + "-net"}); err != nil {
		return fmt.Errorf("delete network backend of %s: %w", id, err)
	}
	return nil
}

// PlugUserNIC adds a user-network card (AddUserNIC), configures the guest with
// GuestIP and HostIP as its gateway (systemd-networkd), and takes the card out when
// the test ends.
func (v *VM) PlugUserNIC(t testing.TB) *Device {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := v.AddUserNIC(ctx)
	if err != nil {
		t.Fatalf("plug network card: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		v.guest.Exec(t, "rm -f /run/systemd/network/50-e2e.network; networkctl reload 2>/dev/null || true")
		if err := v.RemoveNIC(ctx, id); err != nil {
			t.Errorf("unplug network card: %v", err)
		}
	})
	v.guest.MustRun(t, fmt.Sprintf(`set -e
mkdir -p /run/systemd/network
cat > /run/systemd/network/50-e2e.network <<'NET'
[Match]
MACAddress=52:54:00:12:34:56
[Network]
Address=%s/24
Gateway=%s
NET
systemctl restart systemd-networkd`, GuestIP, HostIP))
	v.guest.WaitFor(t, 30*time.Second, `for i in /sys/class/net/*; do [ "$(cat $i/address)" = 52:54:00:12:34:56 ] && [ "$(cat $i/operstate)" = up ] && echo ${i##*/}; done | grep .`)
	return &Device{ID: id}
}
