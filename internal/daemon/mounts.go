package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/mountwatch"
	"mediagate/internal/policy"
	"mediagate/internal/registry"
)

// Audit kinds of the mount log (see docs/mountlog.md).
const (
	KindMountAttach      = "mount.attach"
	KindMountDetach      = "mount.detach"
	KindMountRemount     = "mount.remount"
	KindMountSeenAtStart = "mount.seen-at-start"
	KindMountViolation   = "mount.violation"
)

// Attribution sources the daemon adds to mountwatch's.
const (
	// AttributionUdisks: udisksd mounted on a user's behalf; the uid is the
	// "mounted-by-uid" of udisks' state file /run/udisks2/mounted-fs.
	AttributionUdisks = "udisks"
)

// MountSource delivers mount events; *mountwatch.Watcher and *mountwatch.Fake are two.
type MountSource interface {
	Next(ctx context.Context) (mountwatch.Event, error)
	Close() error
}

// MountConfig wires the mount log. A zero MountConfig (no Source) logs no mounts.
type MountConfig struct {
	// ProcRoot, when set and Source is nil, opens the system's mount watcher on
	// <ProcRoot>/self (see internal/mountwatch) when Run starts.
	ProcRoot string
	Source   MountSource
	// Initial is the mount table when Source began watching; its block-device mounts
	// are logged as mount.seen-at-start before the first event.
	Initial []mountwatch.Mount
	// Method names the watcher (fanotify, poll) for the log.
	Method string
	// UdevData is the udev database, for the filesystem UUID and label.
	UdevData string
	// UdisksState is udisks' mount state file; "-" disables the udisks lookup. The
	// default reads /var/lib/udisks2/mounted-fs-persistent (udisks 2.9 keeps mounts
	// below a mount point that survives reboot, such as Debian's /media, there) and
	// /run/udisks2/mounted-fs (the others; upstream's /run/media).
	UdisksState string
	// UdisksWait bounds how long a mount below /media or /run/media waits for udisks
	// to write its state file (default 2 s).
	UdisksWait time.Duration
	// Hostname is the system's host name, recorded next to the registered host
	// number (default os.Hostname).
	Hostname string
	// LookupUser turns a uid into a user name (default mountwatch.LookupUserName).
	LookupUser func(uid int) string
}

// startMounts runs the mount log until ctx ends; the returned function stops it and
// waits, so that no row is half-written when Run returns.
func (d *Daemon) startMounts(ctx context.Context) func() {
	mc := &d.cfg.Mounts
	if mc.Source == nil && mc.ProcRoot != "" {
		if err := openMountWatcher(mc, d.cfg.Now, d.cfg.Log); err != nil {
			d.problem("mount log: open watcher: %v", err)
		}
	}
	if mc.Source == nil {
		return func() {}
	}
	if mc.UdisksWait == 0 {
		mc.UdisksWait = 2 * time.Second
	}
	if mc.LookupUser == nil {
		mc.LookupUser = mountwatch.LookupUserName
	}
	if mc.Hostname == "" {
		mc.Hostname, _ = os.Hostname()
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := d.watchMounts(ctx); err != nil {
			d.problem("mount log stopped: %v", err)
		}
	}()
	return func() { cancel(); wg.Wait(); mc.Source.Close() }
}

// watchMounts logs the mounts present at start, then every change. Each event's row
// is committed before the next event is read.
func (d *Daemon) watchMounts(ctx context.Context) error {
	mc := d.cfg.Mounts
	d.log.Info("mount log started", "method", mc.Method)
	d.reconcileMounts(ctx, mountwatch.SeenAtStart(mc.Initial, mountwatch.Mount.BlockDevice, d.cfg.Now()))
	for {
		ev, err := mc.Source.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, mountwatch.ErrClosed) {
				return nil
			}
			return err
		}
		d.HandleMount(ctx, ev)
	}
}

// reconcileMounts compares the mount table found at start with what the log last saw
// mounted. A mount still there was logged before and is not logged again; a mount the
// log saw that is gone was unmounted while the daemon was down and gets its detach row
// now; a mount the log never saw is logged as seen at start. (A medium that is blocked
// now is detached by its own decision at start, which unmounts it.)
func (d *Daemon) reconcileMounts(ctx context.Context, present []mountwatch.Event) {
	open, err := d.cfg.Store.OpenMounts(ctx)
	if err != nil {
		d.problem("read the mounts last logged: %v", err)
	}
	was := map[[2]string]registry.OpenMount{}
	for _, m := range open {
		was[[2]string{m.Source, m.MountPoint}] = m
	}
	for _, ev := range present {
		k := [2]string{ev.Source, ev.MountPoint}
		if _, logged := was[k]; logged {
			delete(was, k)
			continue
		}
		d.HandleMount(ctx, ev)
	}
	if d.cfg.NoAudit {
		return
	}
	for _, m := range open {
		if _, gone := was[[2]string{m.Source, m.MountPoint}]; !gone {
			continue
		}
		details := map[string]any{"event": "unmount", "device": map[string]any{"source": m.Source},
			"mount_point": m.MountPoint, "host": d.hostNumber(), "hostname": d.cfg.Mounts.Hostname,
			"time": d.cfg.Now().UTC().Format(time.RFC3339Nano), "attribution": mountwatch.AttributionNone,
			"seen_at_start": "unmounted while the daemon was not running", "attach_seq": m.Seq}
		if err := d.record(ctx, KindMountDetach, m.Medium, details); err != nil {
			d.problem("audit row for the unmount of %s at %s: %v", m.Source, m.MountPoint, err)
		}
	}
}

// mountedDevice is what sysfs, udev and the daemon's records say about the device
// behind a mount.
type mountedDevice struct {
	devpath   string // of the mounted node (disk or partition), "" when not in sysfs
	disk      string // devpath of the whole disk
	name      string // kernel name of the mounted node
	partition string // kernel name of the partition, "" for a whole disk
	fsUUID    string
	fsLabel   string
	virtual   bool // loop, dm, md …: no medium of its own
	baseline  bool // an internal disk of the host
	rec       *Record
	identity  media.Identity
	medium    string
	custodian string
	level     media.Level
	holder    string
	lookupErr string
}

// HandleMount writes the audit row of one mount event and, for a mount of a medium
// whose standing decision blocks it, unmounts it (a violation). It returns when the
// row is committed (or writing it failed and the failure is reported as a problem).
func (d *Daemon) HandleMount(ctx context.Context, ev mountwatch.Event) {
	if !ev.BlockDevice() {
		return
	}
	dev := d.mountedDevice(ctx, ev)
	if dev.baseline && ev.Kind != mountwatch.KindMount {
		// The host's own disks: only new mounts of them are logged (a bind of the
		// system disk is rare and worth a row); the rest is the system at work.
		return
	}
	d.attributeUdisks(ctx, &ev, dev)
	kind := mountKind(ev.Kind)
	var actions []string
	var enfErr string
	if dev.rec != nil && dev.rec.Effective == policy.Block &&
		(ev.Kind == mountwatch.KindMount || ev.Kind == mountwatch.KindSeenAtStart ||
			ev.Kind == mountwatch.KindRemountRW || ev.Kind == mountwatch.KindRemount) {
		kind = KindMountViolation
		actions, enfErr = d.unmountBlocked(dev)
	} else if dev.rec != nil && dev.rec.Effective == policy.AllowReadOnly && !ev.ReadOnly &&
		ev.Kind != mountwatch.KindUnmount {
		// A read-only medium mounted read-write: BLKROSET should have made this
		// impossible; treat it as a violation.
		kind = KindMountViolation
		actions, enfErr = d.unmountBlocked(dev)
	}
	details := mountDetails(ev, dev, d.hostNumber(), d.cfg.Mounts.Hostname, d.cfg.Mounts.Method)
	if kind == KindMountViolation {
		details["event"] = ev.Kind.String()
		details["reason"] = dev.rec.Decision.Reason
		details["actions"] = actions
		if enfErr != "" {
			details["error"] = enfErr
		}
	}
	if d.cfg.NoAudit {
		return
	}
	if err := d.record(ctx, kind, dev.medium, details); err != nil {
		d.problem("audit row for %s of %s at %s: %v", kind, ev.Source, ev.MountPoint, err)
		return
	}
	d.log.Info("mount", "kind", kind, "medium", dev.medium, "source", ev.Source, "mountpoint", ev.MountPoint,
		"ro", ev.ReadOnly, "user", ev.User, "uid", ev.UID, "attribution", ev.Attribution)
	if kind == KindMountViolation && d.cfg.Notify != nil {
		r := *dev.rec
		r.Time = d.cfg.Now()
		r.Actions = actions
		d.cfg.Notify(r)
	}
}

func mountKind(k mountwatch.Kind) string {
	switch k {
	case mountwatch.KindMount:
		return KindMountAttach
	case mountwatch.KindUnmount:
		return KindMountDetach
	case mountwatch.KindSeenAtStart:
		return KindMountSeenAtStart
	default:
		return KindMountRemount
	}
}

func (d *Daemon) hostNumber() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.host.Number
}

// unmountBlocked carries out the standing block decision again, through the enforcer:
// Detach (or Eject for a disc) lazily unmounts every mount of the device first.
func (d *Daemon) unmountBlocked(dev mountedDevice) (actions []string, errText string) {
	d.work.Lock()
	defer d.work.Unlock()
	t := enforce.Target{SysPath: dev.disk}
	var err error
	if dev.rec.Stage == "disc" {
		err = d.cfg.Enforcer.Eject(t)
		actions = append(actions, "unmounted", "ejected")
	} else {
		err = d.cfg.Enforcer.Detach(t)
		if err == nil {
			actions = append(actions, "unmounted", "detached")
		} else {
			actions = append(actions, enforce.DetachActions(err)...)
		}
	}
	if dev.rec.Parent != "" {
		if _, aerr := d.cfg.Enforcer.AuthorizeUSB(dev.rec.Parent, false); aerr != nil {
			err = errors.Join(err, aerr)
		} else {
			actions = append(actions, "deauthorized")
		}
	}
	if err != nil {
		d.log.Warn("unmount a blocked medium", "disk", dev.disk, "err", err)
		return actions, err.Error()
	}
	return actions, ""
}

// mountedDevice links a mount to its device by device number: the daemon's standing
// decision for the disk when there is one, else the registry by the disk's identity.
func (d *Daemon) mountedDevice(ctx context.Context, ev mountwatch.Event) mountedDevice {
	var md mountedDevice
	md.name = filepath.Base(ev.Source)
	root, err := filepath.EvalSymlinks(d.cfg.Sys)
	if err != nil {
		return md
	}
	abs, err := filepath.EvalSymlinks(filepath.Join(root, "dev", "block", ev.Device()))
	if err != nil || !strings.HasPrefix(abs, root+"/devices/") {
		return md
	}
	md.devpath = strings.TrimPrefix(abs, root)
	md.name = filepath.Base(abs)
	md.disk = md.devpath
	if _, err := os.Stat(filepath.Join(abs, "partition")); err == nil {
		md.disk, md.partition = filepath.Dir(md.devpath), md.name
	}
	if udev := d.cfg.Mounts.UdevData; udev != "" {
		if b, err := os.ReadFile(filepath.Join(udev, "b"+ev.Device())); err == nil {
			if rec, err := identity.ParseUdevDB(b); err == nil {
				md.fsUUID, md.fsLabel = rec.Properties["ID_FS_UUID"], rec.Properties["ID_FS_LABEL"]
			}
		}
	}
	if virtualBlock(filepath.Base(md.disk)) {
		md.virtual = true
		return md
	}
	if r := d.standing(md.disk); r != nil {
		cp := *r
		md.rec = &cp
		md.identity = r.Identity
		md.medium, md.custodian, md.level = r.Decision.Medium, r.Decision.Custodian, r.Decision.MediumLevel
		md.baseline = r.Decision.Reason == policy.ReasonBaseline
		if md.medium != "" {
			if m, err := d.cfg.Store.MediumByIdentity(ctx, r.Identity.Key); err == nil && m.Number == md.medium {
				md.holder = m.Holder
			}
		}
		return md
	}
	// Not decided (yet): a mount seen before the device events of the start, or a
	// device the daemon does not decide. Look the identity up directly.
	if d.cfg.Read == nil {
		return md
	}
	dev, err := d.cfg.Read(md.disk)
	if err != nil {
		md.lookupErr = err.Error()
		return md
	}
	md.identity = dev.Identity
	if host, hostp := d.hostProfile(ctx); hostp != nil && dev.USB == nil && slices.Contains(host.Baseline, identity.BaselineKey(dev)) {
		md.baseline = true
		return md
	}
	if dev.Identity.Key == "" {
		return md
	}
	m, err := d.cfg.Store.MediumByIdentity(ctx, dev.Identity.Key)
	switch {
	case err == nil:
		md.medium, md.custodian, md.level, md.holder = m.Number, m.Custodian, m.Level, m.Holder
	case !errors.Is(err, registry.ErrNotFound):
		md.lookupErr = err.Error()
	}
	return md
}

// attributeUdisks fills the who-fields of a mount that udisksd did on a user's behalf,
// from udisks' state file. The kernel (and fanotify) see only root/udisksd there.
func (d *Daemon) attributeUdisks(ctx context.Context, ev *mountwatch.Event, dev mountedDevice) {
	mc := d.cfg.Mounts
	if mc.UdisksState == "-" || (ev.Kind != mountwatch.KindMount && ev.Kind != mountwatch.KindSeenAtStart) {
		return
	}
	if ev.Attribution == mountwatch.AttributionFanotify && !strings.HasPrefix(ev.Comm, "udisks") {
		return // the kernel named the process, and it is not udisks
	}
	// udisks writes its state after the mount call returns: wait for it only where
	// udisks mounts (it mounts nowhere else unless fstab says so).
	wait := time.Duration(0)
	if ev.Kind == mountwatch.KindMount && (strings.HasPrefix(ev.MountPoint, "/media/") || strings.HasPrefix(ev.MountPoint, "/run/media/") ||
		strings.HasPrefix(ev.Comm, "udisks")) {
		wait = mc.UdisksWait
	}
	devt := makedev(ev.Major, ev.Minor)
	deadline := time.Now().Add(wait)
	for {
		for _, e := range udisksEntries(mc.UdisksState) {
			if e.MountPoint == ev.MountPoint && (e.Device == 0 || e.Device == devt) {
				ev.Attribution = AttributionUdisks
				ev.UID = int(e.UID)
				ev.User = mc.LookupUser(ev.UID)
				if ev.Comm == "" {
					ev.Comm = "udisksd"
				}
				return
			}
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// defaultUdisksStates are where udisks keeps its mount state (see MountConfig).
var defaultUdisksStates = []string{"/var/lib/udisks2/mounted-fs-persistent", "/run/udisks2/mounted-fs", "/var/lib/udisks2/mounted-fs"}

// udisksEntries reads udisks' mount state from path, or from the default places.
func udisksEntries(path string) []udisksMount {
	paths := []string{path}
	if path == "" {
		paths = defaultUdisksStates
	}
	var out []udisksMount
	for _, p := range paths {
		if es, err := readUdisksMounts(p); err == nil {
			out = append(out, es...)
		}
	}
	return out
}

// mountDetails is the row of one mount event.
func mountDetails(ev mountwatch.Event, dev mountedDevice, hostNumber, hostname, method string) map[string]any {
	m := map[string]any{
		"event":       ev.Kind.String(),
		"device":      map[string]any{"name": dev.name, "source": ev.Source, "devnum": ev.Device(), "devpath": dev.devpath, "disk": filepath.Base(dev.disk), "partition": dev.partition},
		"fs_type":     ev.FSType,
		"mount_point": ev.MountPoint,
		"ro":          ev.ReadOnly,
		"options":     ev.Options,
		"host":        hostNumber,
		"hostname":    hostname,
		"time":        ev.Time.UTC().Format(time.RFC3339Nano),
		"attribution": ev.Attribution,
		"watcher":     method,
	}
	if ev.Root != "" && ev.Root != "/" {
		m["fs_root"] = ev.Root // a bind mount of a subtree
	}
	if dev.fsUUID != "" {
		m["fs_uuid"] = dev.fsUUID
	}
	if dev.fsLabel != "" {
		m["fs_label"] = dev.fsLabel
	}
	if ev.Kind == mountwatch.KindRemountRO || ev.Kind == mountwatch.KindRemountRW || ev.Kind == mountwatch.KindRemount {
		m["prev_options"] = ev.PrevOptions
	}
	switch {
	case dev.medium != "":
		m["medium"] = dev.medium
		m["medium_level"] = dev.level.String()
		m["custodian"] = dev.custodian
		if dev.holder != "" {
			m["holder"] = dev.holder
		}
	case dev.virtual:
		m["medium"] = "virtual"
	case dev.baseline:
		m["medium"] = "baseline"
	default:
		m["medium"] = "unregistered"
	}
	if dev.identity.Key != "" {
		m["identity"] = dev.identity
	}
	if dev.rec != nil {
		m["decision"] = map[string]any{"reason": dev.rec.Decision.Reason, "effective": dev.rec.Effective}
	}
	if dev.lookupErr != "" {
		m["lookup_error"] = dev.lookupErr
	}
	if ev.PID != 0 {
		m["pid"] = ev.PID
	}
	if ev.Comm != "" {
		m["command"] = ev.Comm
	}
	if ev.UID != mountwatch.UnknownID {
		m["uid"] = ev.UID
		m["user"] = ev.User
	}
	if ev.LoginUID != mountwatch.UnknownID {
		m["login_uid"] = ev.LoginUID
		m["login_user"] = ev.LoginUser
	}
	return m
}

// udisksMount is one entry of udisks' mounted-fs state.
type udisksMount struct {
	MountPoint string
	Device     uint64 // dev_t
	UID        uint32 // mounted-by-uid
	Fstab      bool
}

const maxUdisksState = 1 << 20

func readUdisksMounts(path string) ([]udisksMount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxUdisksState {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, st.Size(), maxUdisksState)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, err
	}
	return parseUdisksMounts(b)
}
