package testbed

import (
	"errors"
	"slices"
	"testing"
)

// AddPCIDisk puts each disk into a free PCIe root port and frees the port on Remove.
func TestAddPCIDiskUsesFreeRootPorts(t *testing.T) {
	f := newFakeQMP(t, func(req map[string]any) []string {
		if req["execute"] == "device_del" {
			args := req["arguments"].(map[string]any)
			return []string{ok(req, "{}"), `{"event": "DEVICE_DELETED", "data": {"device": "` + args["id"].(string) + `", "path": "/machine/peripheral/x"}, "timestamp": {"seconds": 1, "microseconds": 0}}`}
		}
		return []string{ok(req, "{}")}
	})
	q, err := DialQMP(ctxT(t), f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	<-f.requests // qmp_capabilities
	v := &VM{qmp: q, nodes: map[string][]string{}, ports: map[string]string{}}

	var buses []string
	add := func(serial string) (string, error) {
		id, err := v.AddPCIDisk(ctxT(t), PCIDiskSpec{Serial: serial, Image: "disk.img"})
		if err != nil {
			return "", err
		}
		<-f.requests // blockdev-add
		dev := <-f.requests
		args := dev["arguments"].(map[string]any)
		if dev["execute"] != "device_add" || args["driver"] != "virtio-blk-pci" || args["serial"] != serial || args["drive"] != id+"-disk" {
			t.Fatalf("device_add = %v", dev)
		}
		buses = append(buses, args["bus"].(string))
		return id, nil
	}
	first, err := add("A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := add("B"); err != nil {
		t.Fatal(err)
	}
	if _, err := add("C"); !errors.Is(err, ErrNoFreePort) {
		t.Fatalf("third disk: %v, want ErrNoFreePort", err)
	}
	if err := v.Remove(ctxT(t), first); err != nil {
		t.Fatal(err)
	}
	<-f.requests // device_del
	if del := <-f.requests; del["execute"] != "blockdev-del" {
		t.Fatalf("after device_del: %v, want blockdev-del", del["execute"])
	}
	if _, err := add("D"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"rp1", "rp2", "rp1"}; !slices.Equal(buses, want) {
		t.Errorf("root ports %q, want %q", buses, want)
	}
}
