package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config says which guest to boot and where the run keeps its files.
type Config struct {
	Kernel string // guest kernel (vmlinuz)
	Initrd string // initramfs that mounts /dev/vda and switch_roots
	Image  string // base root file system, qcow2; never written (an overlay takes the writes)

	// WorkDir holds the overlay, the sockets, the logs and the 9p share ("share/").
	// Keep the path short: unix socket paths are limited to 107 bytes.
	WorkDir string

	MemoryMiB int    // default 1024
	CPUs      int    // default 2
	Append    string // extra kernel command line
	// Accel is QEMU's -accel value (default "tcg"); "tcg,thread=single" with
	// Icount set makes the guest's clocks count instructions (see Icount).
	Accel string
	// Icount is QEMU's -icount value, empty for none. With "shift=0,sleep=off" the
	// guest's clock advances one nanosecond per instruction executed: a task's run
	// time becomes its instruction count, whatever the host does meanwhile.
	Icount      string
	QEMU        string        // default qemu-system-x86_64
	BootTimeout time.Duration // until the guest runner is ready; default 4 minutes
	// GuestDir holds runner.sh, copied to share/guest/ (default: scripts/vm/guest of
	// the repository, found from the working directory).
	GuestDir string
}

// VM is a running QEMU guest with a USB 3 (xHCI) controller for hot-plugging, a QMP
// socket and a 9p share on which the guest runner takes commands.
type VM struct {
	cfg     Config
	cmd     *exec.Cmd
	exited  chan struct{} // closed when QEMU has exited
	waitErr error
	qmp     *QMP
	guest   *Guest

	mu      sync.Mutex
	nodes   map[string][]string // device id -> block nodes to delete after it
	ports   map[string]string   // PCIe root port -> id of the device plugged into it
	nextDev int
	stopped bool
}

// Start boots the guest and returns once the guest runner answers, or an error (with
// the tail of the serial console) after stopping QEMU again.
func Start(ctx context.Context, cfg Config) (*VM, error) {
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 1024
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 2
	}
	if cfg.QEMU == "" {
		cfg.QEMU = "qemu-system-x86_64"
	}
	if cfg.Accel == "" {
		cfg.Accel = "tcg"
	}
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 4 * time.Minute
	}
	if cfg.GuestDir == "" {
		d, err := findGuestDir()
		if err != nil {
			return nil, err
		}
		cfg.GuestDir = d
	}
	for _, p := range []*string{&cfg.Kernel, &cfg.Initrd, &cfg.Image, &cfg.WorkDir, &cfg.GuestDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		*p = abs
	}
	for _, p := range []string{cfg.Kernel, cfg.Initrd, cfg.Image} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("guest image: %w", err)
		}
	}

	share := filepath.Join(cfg.WorkDir, "share")
	for _, d := range []string{filepath.Join(share, "cmd"), filepath.Join(share, "guest"), filepath.Join(share, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	_ = os.Remove(filepath.Join(share, "ready"))
	runner, err := os.ReadFile(filepath.Join(cfg.GuestDir, "runner.sh"))
	if err != nil {
		return nil, fmt.Errorf("guest runner: %w", err)
	}
	if err := os.WriteFile(filepath.Join(share, "guest", "runner.sh"), runner, 0o755); err != nil {
		return nil, err
	}

	overlay := filepath.Join(cfg.WorkDir, "overlay.qcow2")
	_ = os.Remove(overlay)
	if err := run("qemu-img", nil, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", cfg.Image, overlay); err != nil {
		return nil, err
	}

	qmpSock := filepath.Join(cfg.WorkDir, "qmp.sock")
	_ = os.Remove(qmpSock)
	appendLine := "console=ttyS0 root=/dev/vda rw loglevel=4 block.events_dfl_poll_msecs=1000 systemd.show_status=1"
	if cfg.Append != "" {
		appendLine += " " + cfg.Append
	}
	args := []string{
		"-name", "mediagate-e2e,debug-threads=on", // vCPU threads named "CPU n/TCG" (bench: VCPUWait)
		"-machine", "q35", "-accel", cfg.Accel, "-cpu", "max",
		"-smp", fmt.Sprint(cfg.CPUs), "-m", fmt.Sprint(cfg.MemoryMiB),
		"-nodefaults", "-display", "none", "-no-reboot",
		"-kernel", cfg.Kernel, "-initrd", cfg.Initrd, "-append", appendLine,
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2,cache=unsafe,discard=unmap",
		"-device", "virtio-rng-pci",
		"-device", "qemu-xhci,id=xhci",
		// PCIe root ports for hot-plugging PCI disks (see AddPCIDisk); after the boot
		// disk so that its PCI address (and the baseline recorded from it) is unchanged.
		"-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
		"-device", "pcie-root-port,id=rp2,chassis=2,slot=2",
		"-virtfs", "local,path=" + share + ",mount_tag=hostshare,security_model=none,id=hostshare",
		"-serial", "file:" + filepath.Join(cfg.WorkDir, "console.log"),
		"-qmp", "unix:" + qmpSock + ",server=on,wait=off",
		"-pidfile", filepath.Join(cfg.WorkDir, "qemu.pid"),
	}
	if cfg.Icount != "" {
		args = append(args, "-icount", cfg.Icount)
	}
	logf, err := os.Create(filepath.Join(cfg.WorkDir, "qemu.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(cfg.QEMU, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// QEMU dies with us even if the test binary is killed before its clean-up runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	v := &VM{cfg: cfg, cmd: cmd, exited: make(chan struct{}), nodes: map[string][]string{}, ports: map[string]string{}}
	go func() {
		v.waitErr = cmd.Wait()
		close(v.exited)
	}()
	v.guest = &Guest{share: share, exited: v.exited}

	fail := func(err error) (*VM, error) {
		v.Stop()
		return nil, fmt.Errorf("%w\n--- qemu.log ---\n%s--- console (tail) ---\n%s", err,
			tail(filepath.Join(cfg.WorkDir, "qemu.log"), 20), tail(v.ConsoleLog(), 40))
	}
	bootCtx, cancel := context.WithTimeout(ctx, cfg.BootTimeout)
	defer cancel()
	qctx, qcancel := context.WithTimeout(bootCtx, 30*time.Second)
	v.qmp, err = DialQMP(qctx, qmpSock)
	qcancel()
	if err != nil {
		return fail(err)
	}
	if err := v.guest.waitReady(bootCtx); err != nil {
		return fail(err)
	}
	return v, nil
}

func findGuestDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		d := filepath.Join(dir, "scripts", "vm", "guest")
		if _, err := os.Stat(filepath.Join(d, "runner.sh")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/vm/guest/runner.sh not found above the working directory; set Config.GuestDir")
		}
		dir = parent
	}
}

// tail returns the last n lines of a file ("" if it cannot be read).
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// QMP returns the QMP client of the VM.
func (v *VM) QMP() *QMP { return v.qmp }

// Guest returns the handle that runs commands in the guest.
func (v *VM) Guest() *Guest { return v.guest }

// ShareDir is the host side of the 9p share; the guest sees it at /share.
func (v *VM) ShareDir() string { return filepath.Join(v.cfg.WorkDir, "share") }

// WorkDir is the directory of the run (overlay, sockets, logs, share).
func (v *VM) WorkDir() string { return v.cfg.WorkDir }

// ConsoleLog is the path of the guest's serial console log.
func (v *VM) ConsoleLog() string { return filepath.Join(v.cfg.WorkDir, "console.log") }

// PID is the process id of QEMU.
func (v *VM) PID() int { return v.cmd.Process.Pid }

// Stop asks QEMU to quit, kills it (only this PID) if it has not exited after 10
// seconds, and waits for it. It is safe to call more than once.
func (v *VM) Stop() error {
	v.mu.Lock()
	if v.stopped {
		v.mu.Unlock()
		<-v.exited
		return nil
	}
	v.stopped = true
	v.mu.Unlock()

	if v.qmp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = v.qmp.Execute(ctx, "quit", nil)
		cancel()
	}
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
		_ = v.cmd.Process.Kill()
		<-v.exited
	}
	if v.qmp != nil {
		v.qmp.Close()
	}
	return nil
}

// newID returns a fresh QEMU id with the given prefix.
func (v *VM) newID(prefix string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.nextDev++
	return fmt.Sprintf("%s%d", prefix, v.nextDev)
}

// StickSpec describes a USB mass-storage stick to hot-plug.
type StickSpec struct {
	ID       string // QEMU device id; empty: one is chosen
	Serial   string // USB iSerialNumber the guest sees; may be empty
	Image    string // raw disk image (see MakeStickImage)
	ReadOnly bool
}

// AddStick hot-plugs a usb-storage device on the xHCI bus backed by a raw image and
// returns its device id.
func (v *VM) AddStick(ctx context.Context, s StickSpec) (string, error) {
	if s.ID == "" {
		s.ID = v.newID("stick")
	}
	node := s.ID + "-disk"
	err := v.addNode(ctx, node, s.Image, s.ReadOnly)
	if err != nil {
		return "", err
	}
	dev := map[string]any{"driver": "usb-storage", "bus": "xhci.0", "drive": node, "id": s.ID, "removable": true}
	if s.Serial != "" {
		dev["serial"] = s.Serial
	}
	if _, err := v.qmp.Execute(ctx, "device_add", dev); err != nil {
		v.delNodes(ctx, []string{node})
		return "", err
	}
	v.track(s.ID, node)
	return s.ID, nil
}

// CDSpec describes a USB CD/DVD drive with a disc in it.
type CDSpec struct {
	ID     string // QEMU id of the usb-bot device; empty: one is chosen
	Serial string
	ISO    string // ISO 9660 image (see MakeISO)
}

// AddCD hot-plugs a USB CD drive (usb-bot with a scsi-cd holding the ISO) and returns the
// id of the usb-bot device.
func (v *VM) AddCD(ctx context.Context, s CDSpec) (string, error) {
	if s.ID == "" {
		s.ID = v.newID("cd")
	}
	node := s.ID + "-disc"
	if err := v.addNode(ctx, node, s.ISO, true); err != nil {
		return "", err
	}
	bot := map[string]any{"driver": "usb-bot", "bus": "xhci.0", "id": s.ID}
	if s.Serial != "" {
		bot["serial"] = s.Serial
	}
	if _, err := v.qmp.Execute(ctx, "device_add", bot); err != nil {
		v.delNodes(ctx, []string{node})
		return "", err
	}
	v.track(s.ID, node)
	cd := map[string]any{"driver": "scsi-cd", "bus": s.ID + ".0", "drive": node, "id": s.ID + "-cd"}
	if _, err := v.qmp.Execute(ctx, "device_add", cd); err != nil {
		v.Remove(ctx, s.ID)
		return "", err
	}
	// usb-bot stays detached from the bus until its SCSI device is there.
	if _, err := v.qmp.Execute(ctx, "qom-set", map[string]any{"path": "/machine/peripheral/" + s.ID, "property": "attached", "value": true}); err != nil {
		v.Remove(ctx, s.ID)
		return "", err
	}
	return s.ID, nil
}

// MultiLUNSpec describes a USB mass-storage device with several disks (logical units)
// behind one USB identity: a usb-bot with one scsi-hd per image, LUN 0 first.
type MultiLUNSpec struct {
	ID     string // QEMU id of the usb-bot device; empty: one is chosen
	Serial string
	Images []string // raw disk images, one per LUN
}

// AddMultiLUN hot-plugs a usb-bot with one scsi-hd per image (LUN 0, 1, …) and attaches
// it, and returns the id of the usb-bot device. With the default usb-storage
// descriptors it presents the same VID:PID (46f4:0001) as AddStick.
func (v *VM) AddMultiLUN(ctx context.Context, s MultiLUNSpec) (string, error) {
	if s.ID == "" {
		s.ID = v.newID("multi")
	}
	if len(s.Images) == 0 {
		return "", fmt.Errorf("multi-LUN device %s: no images", s.ID)
	}
	var nodes []string
	for i, img := range s.Images {
		node := fmt.Sprintf("%s-lun%d", s.ID, i)
		if err := v.addNode(ctx, node, img, false); err != nil {
			v.delNodes(ctx, nodes)
			return "", err
		}
		nodes = append(nodes, node)
	}
	bot := map[string]any{"driver": "usb-bot", "bus": "xhci.0", "id": s.ID}
	if s.Serial != "" {
		bot["serial"] = s.Serial
	}
	if _, err := v.qmp.Execute(ctx, "device_add", bot); err != nil {
		v.delNodes(ctx, nodes)
		return "", err
	}
	v.track(s.ID, nodes...)
	for i, node := range nodes {
		hd := map[string]any{"driver": "scsi-hd", "bus": s.ID + ".0", "drive": node, "lun": i, "id": fmt.Sprintf("%s-hd%d", s.ID, i)}
		if _, err := v.qmp.Execute(ctx, "device_add", hd); err != nil {
			v.Remove(ctx, s.ID)
			return "", err
		}
	}
	if _, err := v.qmp.Execute(ctx, "qom-set", map[string]any{"path": "/machine/peripheral/" + s.ID, "property": "attached", "value": true}); err != nil {
		v.Remove(ctx, s.ID)
		return "", err
	}
	return s.ID, nil
}

// AddUSB hot-plugs a USB device without a backing block node, such as "usb-kbd",
// "usb-mouse", "usb-tablet" or "usb-net" (a network card with no network behind it), with
// extra properties, and returns its id.
func (v *VM) AddUSB(ctx context.Context, driver string, props map[string]any) (string, error) {
	dev := map[string]any{"driver": driver, "bus": "xhci.0"}
	for k, val := range props {
		dev[k] = val
	}
	id, _ := dev["id"].(string)
	if id == "" {
		id = v.newID(strings.TrimPrefix(driver, "usb-"))
		dev["id"] = id
	}
	if _, err := v.qmp.Execute(ctx, "device_add", dev); err != nil {
		return "", err
	}
	v.track(id)
	return id, nil
}

// PCIPorts are the PCIe root ports the guest boots with; each takes one hot-plugged PCI
// device (q35 has no hot-plug on its root bus).
var PCIPorts = []string{"rp1", "rp2"}

// PCIDiskSpec describes a virtio-blk PCI disk to hot-plug: the guest sees /dev/vdX, a
// disk on its own PCI function with no SCSI layer, the way it sees NVMe, Thunderbolt
// NVMe and other PCI storage.
type PCIDiskSpec struct {
	ID       string // QEMU device id; empty: one is chosen
	Serial   string // the disk's serial (sysfs block/vdX/serial, udev ID_SERIAL)
	Image    string // raw disk image (see MakeStickImage)
	ReadOnly bool
}

// ErrNoFreePort is returned by AddPCIDisk when every root port holds a device.
var ErrNoFreePort = errors.New("no free PCIe root port")

// AddPCIDisk hot-plugs a virtio-blk-pci disk into a free PCIe root port and returns its
// device id.
func (v *VM) AddPCIDisk(ctx context.Context, s PCIDiskSpec) (string, error) {
	if s.ID == "" {
		s.ID = v.newID("pcidisk")
	}
	v.mu.Lock()
	port := ""
	for _, p := range PCIPorts {
		if _, used := v.ports[p]; !used {
			port = p
			v.ports[p] = s.ID
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
	node := s.ID + "-disk"
	if err := v.addNode(ctx, node, s.Image, s.ReadOnly); err != nil {
		release()
		return "", err
	}
	dev := map[string]any{"driver": "virtio-blk-pci", "bus": port, "drive": node, "id": s.ID}
	if s.Serial != "" {
		dev["serial"] = s.Serial
	}
	if _, err := v.qmp.Execute(ctx, "device_add", dev); err != nil {
		v.delNodes(ctx, []string{node})
		release()
		return "", err
	}
	v.track(s.ID, node)
	return s.ID, nil
}

// Remove unplugs a device: device_del, wait for QEMU's DEVICE_DELETED (the guest has
// let go of it), then delete its block nodes.
func (v *VM) Remove(ctx context.Context, id string) error {
	seq := v.qmp.EventSeq()
	if _, err := v.qmp.Execute(ctx, "device_del", map[string]any{"id": id}); err != nil {
		return err
	}
	if _, err := v.qmp.WaitEvent(ctx, seq, "DEVICE_DELETED", DeviceDeleted(id)); err != nil {
		return fmt.Errorf("unplug %s: %w", id, err)
	}
	v.mu.Lock()
	nodes := v.nodes[id]
	delete(v.nodes, id)
	for port, dev := range v.ports {
		if dev == id {
			delete(v.ports, port)
		}
	}
	v.mu.Unlock()
	return v.delNodes(ctx, nodes)
}

// Plugged returns the ids of the devices added and not yet removed.
func (v *VM) Plugged() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := make([]string, 0, len(v.nodes))
	for id := range v.nodes {
		ids = append(ids, id)
	}
	return ids
}

func (v *VM) track(id string, nodes ...string) {
	v.mu.Lock()
	v.nodes[id] = append(v.nodes[id], nodes...)
	v.mu.Unlock()
}

func (v *VM) addNode(ctx context.Context, node, file string, readOnly bool) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	_, err = v.qmp.Execute(ctx, "blockdev-add", map[string]any{
		"driver": "raw", "node-name": node, "read-only": readOnly,
		"file": map[string]any{"driver": "file", "filename": abs, "read-only": readOnly},
	})
	return err
}

func (v *VM) delNodes(ctx context.Context, nodes []string) error {
	var errs []error
	for _, n := range nodes {
		if _, err := v.qmp.Execute(ctx, "blockdev-del", map[string]any{"node-name": n}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
