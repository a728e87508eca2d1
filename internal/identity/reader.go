package identity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"mediagate/internal/media"
	"mediagate/internal/sysfs"
)

// Roots are the file system roots the reader looks under (it uses Sys, UdevData and
// Dev) and the register's disc sample key. Tests point them at a recorded tree in
// testdata/devices/<name>/.
type Roots struct {
	sysfs.Paths
	// DiscKey gives the register's disc sample key (see DiscKeyFile). Without it,
	// or when it fails, optical discs get no identity key and are blocked.
	DiscKey func() ([]byte, error)
}

// DefaultRoots returns the roots of a running Linux system.
func DefaultRoots() Roots { return Roots{Paths: sysfs.DefaultPaths()} }

// ErrNotFound is returned by Resolve and ReadDevice for a device that is not there.
var ErrNotFound = errors.New("device not found")

// Device is one storage device, medium or USB device as the system presents it.
type Device struct {
	Name      string `json:"name"`              // kernel name: sdb, sr0, mmcblk0, 2-1
	Subsystem string `json:"subsystem"`         // "block" or "usb"
	SysPath   string `json:"syspath"`           // devpath below the sysfs root: /devices/…
	DevNode   string `json:"devnode,omitempty"` // device node under Roots.Dev
	Bus       string `json:"bus"`               // usb, ata, scsi, nvme, mmc, virtio, other

	Identity media.Identity `json:"identity"`
	Quality  Quality        `json:"serial_quality"` // of the serial in Identity.Key
	Label    string         `json:"label"`          // vendor and model, printable

	Size      int64 `json:"size"`      // bytes of the block device; 0 for USB devices or no medium
	Removable bool  `json:"removable"` // the kernel's removable flag
	// Internal is true for a fixed disk that is part of the host (non-removable SATA,
	// SAS, NVMe, eMMC). Scan leaves internal disks out; an eSATA disk looks internal.
	Internal bool `json:"internal"`
	NoMedium bool `json:"no_medium,omitempty"` // empty card slot or optical drive

	USB  *USBInfo `json:"usb,omitempty"`  // the USB device this is or sits behind
	Disc *Disc    `json:"disc,omitempty"` // optical discs
	// Problem describes something that could not be read; the identity is then
	// incomplete (and Key may be empty), which policy must treat as unknown.
	Problem string `json:"problem,omitempty"`

	Properties map[string]string `json:"-"` // udev properties of the device

	// Held is, for a USB device read with ReadDeviceHeld, its sysfs directory held
	// open since it was read: authorize through it (internal/enforce) and Close the
	// Device when done. Nil otherwise.
	Held *sysfs.Dir `json:"-"`
}

// Close releases the held directory, if any.
func (d Device) Close() error { return d.Held.Close() }

// USBInfo is what sysfs and the raw descriptors say about a USB device.
type USBInfo struct {
	Port         string     `json:"port"`    // kernel name, such as 2-1 or 3-1.4
	SysPath      string     `json:"syspath"` // devpath of the usb_device
	VendorID     string     `json:"vendor_id"`
	ProductID    string     `json:"product_id"`
	BcdDevice    string     `json:"bcd_device,omitempty"`
	BcdUSB       string     `json:"bcd_usb,omitempty"`
	Speed        string     `json:"speed,omitempty"` // Mbit/s as sysfs says
	Manufacturer string     `json:"manufacturer,omitempty"`
	Product      string     `json:"product,omitempty"`
	Authorized   bool       `json:"authorized"`
	Interfaces   []string   `json:"interfaces,omitempty"` // "08/06/50" triples from the descriptors
	Classes      []string   `json:"classes,omitempty"`    // ClassName of each interface class
	Functions    []Function `json:"functions,omitempty"`
	// DescriptorHash is the speed-independent descriptor hash (media.Identity's);
	// RawDescriptorHash is the SHA-256 of the descriptors file as read.
	DescriptorHash    string `json:"descriptor_hash,omitempty"`
	RawDescriptorHash string `json:"raw_descriptor_hash,omitempty"`
	// Busnum and Devnum are the kernel's bus and device numbers; the device number is
	// new for every enumeration.
	Busnum string `json:"-"`
	Devnum string `json:"-"`
	// Stamp tells this device from another at the same port later: bus and device
	// number and the raw descriptors as read. Zero when they could not be read.
	Stamp sysfs.USBStamp `json:"-"`
}

// HasFunction reports whether the USB device (or the USB device behind a block
// device) has the function.
func (d Device) HasFunction(f Function) bool {
	return d.USB != nil && slices.Contains(d.USB.Functions, f)
}

// ReadDevice reads one device. syspath is a devpath as udev reports it
// ("/devices/pci0000:00/…/block/sdb"), or a path under r.Sys such as
// r.Sys+"/class/block/sdb". A partition resolves to its whole disk. Symbolic links
// are followed only within r.Sys.
func ReadDevice(r Roots, syspath string) (Device, error) { return readDevice(r, syspath, false, nil) }

// ReadDeviceHeld is ReadDevice that, for a USB device (usb_device), keeps the sysfs
// directory it read the device through open in Device.Held, so that a decision is
// carried out on exactly the device that was read; the caller must Close the Device.
// Every attribute of the USB device is read through that one directory, but for its
// uevent file, read first by path to learn what the device is (the device number it
// gives, part of the stamp, is read again through the directory before an authorized
// write: enforce.AuthorizeExact).
//
// A device read so is read for a decision: attributes no decision or record uses (the
// USB device's speed) are not read.
func ReadDeviceHeld(r Roots, syspath string) (Device, error) {
	return readDevice(r, syspath, true, nil)
}

// ReadUSBEventHeld is ReadDeviceHeld for the device of a kernel uevent whose
// properties (the uevent's environment: DEVTYPE, BUSNUM, DEVNUM, MAJOR, MINOR …) are
// given: for a usb_device they stand for its uevent file, which is then not read (the
// decision path of every plug; the device numbers are read again through the held
// directory before an authorized write, as with the file). Any other device, or
// properties without DEVTYPE=usb_device, is read as ReadDeviceHeld reads it. The
// properties must be the kernel's, of the event being decided now: a device decided
// again later (another device at the port) is read with ReadDeviceHeld.
func ReadUSBEventHeld(r Roots, syspath string, uevent map[string]string) (Device, error) {
	if uevent["DEVTYPE"] != "usb_device" {
		uevent = nil
	}
	return readDevice(r, syspath, true, uevent)
}

func readDevice(r Roots, syspath string, hold bool, event map[string]string) (Device, error) {
	sysRoot, err := sysfs.Root(r.Sys)
	if err != nil {
		return Device{}, fmt.Errorf("sysfs root %s: %w", r.Sys, err)
	}
	p := syspath
	if !strings.HasPrefix(filepath.Clean(p)+"/", filepath.Clean(r.Sys)+"/") &&
		!strings.HasPrefix(filepath.Clean(p)+"/", sysRoot+"/") {
		p = filepath.Join(r.Sys, syspath)
	}
	if hold && event != nil && event["DEVTYPE"] == "usb_device" {
		// A USB device just added: its path has no link in it, and the open that holds
		// its directory confirms that in the same step (else the long way below).
		if dir, ok := sysfs.OpenDirNoLinks(sysRoot, p); ok {
			return readUSBHeld(r, sysRoot, p, dir, event), nil
		}
	}
	abs, err := sysfs.RealPath(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Device{}, fmt.Errorf("%w: %s", ErrNotFound, syspath)
		}
		return Device{}, fmt.Errorf("resolve %s: %w", syspath, err)
	}
	devices := filepath.Join(sysRoot, "devices")
	if !strings.HasPrefix(abs, devices+"/") {
		return Device{}, fmt.Errorf("%s is not a device below %s", syspath, r.Sys)
	}
	uevent := event
	if uevent == nil {
		uevent = readUevent(abs)
	}
	switch uevent["DEVTYPE"] {
	case "partition":
		abs = filepath.Dir(abs)
		uevent = readUevent(abs)
		fallthrough
	case "disk":
		return readBlock(r, sysRoot, abs, uevent, hold), nil
	case "usb_device":
		return readUSBDevice(r, sysRoot, abs, hold, uevent)
	case "usb_interface":
		return readUSBDevice(r, sysRoot, filepath.Dir(abs), hold, nil)
	}
	return Device{}, fmt.Errorf("%s is neither a block device nor a USB device (DEVTYPE %q)", syspath, uevent["DEVTYPE"])
}

func devpath(sysRoot, abs string) string { return strings.TrimPrefix(abs, sysRoot) }

func readBlock(r Roots, sysRoot, abs string, uevent map[string]string, decision bool) Device {
	d := Device{
		Name:       filepath.Base(abs),
		Subsystem:  "block",
		SysPath:    devpath(sysRoot, abs),
		Bus:        "other",
		Properties: readUdev(r, "b", uevent),
	}
	if n := uevent["DEVNAME"]; n != "" && filepath.IsLocal(n) {
		d.Name = n
		d.DevNode = filepath.Join(r.Dev, n)
	}
	d.Size = attrInt(abs, "size") * 512
	d.Removable = attr(abs, "removable") == "1"

	var usbDir, scsiDir, mmcDir, nvmeDir string
	ata := false
	// Up from the disk: the SCSI device, the USB device (above which there is only
	// its hub and controller: the walk ends there), an MMC card, an NVMe controller,
	// an ATA port.
	for dir := filepath.Dir(abs); usbDir == "" && strings.HasPrefix(dir, sysRoot+"/devices/"); dir = filepath.Dir(dir) {
		base := filepath.Base(dir)
		switch {
		case exists(dir, "idVendor") && exists(dir, "descriptors"):
			usbDir = dir
		case scsiDir == "" && exists(dir, "vendor") && exists(dir, "model") && exists(dir, "type"):
			scsiDir = dir
		case mmcDir == "" && exists(dir, "cid"):
			mmcDir = dir
		case nvmeDir == "" && strings.HasPrefix(base, "nvme") && exists(dir, "serial"):
			nvmeDir = dir
		case strings.HasPrefix(base, "ata") && isDigits(base[3:]):
			ata = true
		}
	}
	props := d.Properties
	scsiVendor, scsiModel := clean(attr(scsiDir, "vendor")), clean(attr(scsiDir, "model"))
	optical := strings.HasPrefix(d.Name, "sr") || attr(scsiDir, "type") == "5" || props["ID_CDROM"] == "1"

	switch {
	case usbDir != "":
		d.Bus = "usb"
		u, id, q, prob := usbIdentity(r, sysRoot, usbDir, pathFiles(usbDir), nil, decision)
		d.USB, d.Identity, d.Quality, d.Problem = u, id, q, prob
		d.Label = joinLabel(scsiVendor, scsiModel)
		if d.Label == "" {
			d.Label = joinLabel(u.Manufacturer, u.Product)
		}
		if isCardReader(u.Manufacturer, u.Product, scsiModel, props) {
			d.Identity.Kind = media.KindSD
			d.Quality = weak("card-reader", cardReaderReason)
		}
		d.Identity.Capacity = d.Size
	case mmcDir != "":
		d.Bus = "mmc"
		typ := attr(mmcDir, "type")
		serial := attr(mmcDir, "serial")
		d.Identity = media.Identity{
			Kind:   media.KindSD,
			Key:    MMCKey(attr(mmcDir, "manfid"), attr(mmcDir, "oemid"), attr(mmcDir, "name"), serial),
			Serial: displaySerial(serial), VendorID: hexID(attr(mmcDir, "manfid"), 6),
			ProductID: EscapeComponent(attr(mmcDir, "name")), Capacity: d.Size,
		}
		d.Quality = CheckSerial(strings.TrimPrefix(serial, "0x"))
		d.Label = joinLabel("MMC/SD", clean(attr(mmcDir, "name")), clean(attr(mmcDir, "date")))
		if typ == "MMC" { // soldered eMMC
			d.Identity.Kind = media.KindDisk
			d.Internal = true
		}
	case nvmeDir != "":
		d.Bus = "nvme"
		serial, model := attr(nvmeDir, "serial"), clean(attr(nvmeDir, "model"))
		d.Identity = media.Identity{Kind: media.KindDisk, Serial: displaySerial(serial), Capacity: d.Size}
		if w := attr(abs, "wwid"); w != "" {
			d.Identity.Key, d.Identity.WWN = NVMeKey(w), displaySerial(w)
			d.Quality = Quality{Good: true}
		} else {
			d.Identity.Key = DiskKey(model, serial)
			d.Quality = CheckSerial(serial)
		}
		d.Label = model
		d.Internal = !d.Removable
	default:
		if ata {
			d.Bus = "ata"
		} else if scsiDir != "" {
			d.Bus = "scsi"
		} else if b := props["ID_BUS"]; b != "" {
			d.Bus = EscapeComponent(b)
		}
		serial := vpdSerial(scsiDir)
		if serial == "" {
			serial = firstNonEmpty(props["ID_SCSI_SERIAL"], props["ID_SERIAL_SHORT"])
		}
		model := firstNonEmpty(scsiModel, props["ID_MODEL"])
		d.Identity = media.Identity{Kind: media.KindDisk, Serial: displaySerial(serial), Capacity: d.Size}
		if k, ok := WWNKey(props["ID_WWN"]); ok {
			d.Identity.Key, d.Identity.WWN = k, strings.TrimPrefix(k, "wwn:")
			d.Quality = Quality{Good: true}
		} else if k, ok := WWNKey(attr(scsiDir, "wwid")); ok {
			d.Identity.Key, d.Identity.WWN = k, strings.TrimPrefix(k, "wwn:")
			d.Quality = Quality{Good: true}
		} else {
			d.Identity.Key = DiskKey(model, serial)
			d.Quality = CheckSerial(serial)
		}
		d.Label = joinLabel(scsiVendor, model)
		d.Internal = !d.Removable && !optical
	}
	if optical {
		readDisc(r, &d)
	} else if d.Size == 0 && d.Removable {
		d.NoMedium = true
	}
	return d
}

// driveIsEmpty is driveEmpty; tests replace it to play a drive.
var driveIsEmpty = driveEmpty

// readDisc replaces the identity of an optical drive's block device with the
// identity of the disc in it.
func readDisc(r Roots, d *Device) {
	d.Internal = false
	d.Identity = media.Identity{Kind: media.KindOpticalDisc}
	d.Quality = weak("optical", "optical discs are identified by content, not serial")
	props := d.Properties
	if props["ID_CDROM_MEDIA"] != "1" && d.Size == 0 {
		d.NoMedium = true
		return
	}
	if d.DevNode != "" && driveIsEmpty(d.DevNode) {
		// Ejected: the kernel may still report the last disc's size until the drive is
		// opened again, and udev's database may still hold the last disc's properties
		// (ID_CDROM_MEDIA=1) while a change event is in flight; the drive itself says
		// it is empty.
		d.NoMedium = true
		return
	}
	if disc, ok := DiscFromProperties(props); ok {
		d.Disc = &disc
		d.Quality = weak("disc-no-content", string(disc.Format)+" disc: no content to identify it by")
		d.Quality.arg = string(disc.Format)
		return
	}
	if d.DevNode == "" {
		d.Problem = "no device node to read the disc from"
		return
	}
	if n, _ := strconv.Atoi(props["ID_CDROM_MEDIA_SESSION_COUNT"]); n > 1 {
		// The kernel mounts the last session; the descriptors at sector 16 are the
		// first one's. Only single-session discs are identified.
		d.Problem = fmt.Sprintf("multi-session disc (%d sessions): only single-session discs can be identified", n)
		return
	}
	if r.DiscKey == nil {
		d.Problem = "read disc: " + ErrNoDiscKey.Error()
		return
	}
	key, err := r.DiscKey()
	if err != nil {
		d.Problem = fmt.Sprintf("read disc: %v", err)
		return
	}
	f, err := openDisc(d.DevNode)
	if err != nil {
		d.Problem = fmt.Sprintf("open disc: %v", err)
		return
	}
	defer f.Close()
	size := d.Size
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	disc, err := DiscSignature(f, size, key)
	if err != nil && driveIsEmpty(d.DevNode) {
		// The disc left while it was read.
		d.NoMedium = true
		return
	}
	d.Disc = &disc
	if err != nil {
		d.Problem = fmt.Sprintf("read disc: %v", err)
		return
	}
	d.Identity.Key = disc.Key()
	if d.Identity.Key != "" {
		d.Identity.Capacity = d.Size
		d.Quality = Quality{Good: true}
	}
}

// readUSBDevice reads a usb_device through its directory, opened once; with hold the
// directory stays open in Device.Held.
// readUSBDevice reads the usb_device at abs; uevent is its uevent file if already read
// (nil: read it).
func readUSBDevice(r Roots, sysRoot, abs string, hold bool, uevent map[string]string) (Device, error) {
	dir, err := sysfs.OpenResolvedDir(sysRoot, abs) // readDevice resolved both
	if errors.Is(err, sysfs.ErrGone) {
		return Device{}, fmt.Errorf("%w: %s", ErrNotFound, devpath(sysRoot, abs))
	}
	if err != nil {
		return Device{}, err
	}
	if hold {
		return readUSBHeld(r, sysRoot, abs, dir, uevent), nil
	}
	d := readUSBDir(r, sysRoot, abs, dir, uevent, false)
	dir.Close()
	return d, nil
}

// readUSBHeld reads the usb_device whose directory abs is open as dir for a decision,
// which holds it (Device.Held) and reads authorized here, again before it writes (or,
// for a device it blocks, to see that the kernel still holds it) and writes it: the
// attribute is opened once (sysfs.Dir.Keep).
func readUSBHeld(r Roots, sysRoot, abs string, dir *sysfs.Dir, uevent map[string]string) Device {
	dir.Keep("authorized")
	d := readUSBDir(r, sysRoot, abs, dir, uevent, true)
	d.Held = dir
	return d
}

func readUSBDir(r Roots, sysRoot, abs string, dir *sysfs.Dir, uevent map[string]string, decision bool) Device {
	if uevent == nil {
		uevent = map[string]string{}
		if b, err := dir.ReadFile("uevent", maxUdevDBSize); err == nil {
			uevent, _ = ParseProperties(b)
		}
	}
	u, id, q, prob := usbIdentity(r, sysRoot, abs, dir, uevent, decision)
	d := Device{
		Name: filepath.Base(abs), Subsystem: "usb", SysPath: devpath(sysRoot, abs), Bus: "usb",
		Identity: id, Quality: q, USB: u, Problem: prob,
		Label:      joinLabel(u.Manufacturer, u.Product),
		Removable:  true,
		Properties: readUdev(r, "c", uevent),
	}
	if n := uevent["DEVNAME"]; n != "" && filepath.IsLocal(n) {
		d.DevNode = filepath.Join(r.Dev, n)
	}
	if isCardReader(u.Manufacturer, u.Product, "", d.Properties) {
		d.Identity.Kind = media.KindSD
		d.Quality = weak("card-reader", cardReaderReason)
	}
	return d
}

// attrFiles reads the attribute files of one sysfs directory: *sysfs.Dir (a held
// directory) or pathFiles (by path).
type attrFiles interface {
	ReadFile(name string, limit int64) ([]byte, error)
}

// pathFiles reads attributes by path below a directory.
type pathFiles string

func (p pathFiles) ReadFile(name string, limit int64) ([]byte, error) {
	return readCapped(filepath.Join(string(p), name), limit)
}

// fileAttr reads a text attribute trimmed of surrounding white space; raw keeps all
// but the trailing newline.
func fileAttr(f attrFiles, name string) string {
	s, _ := fileAttrRaw(f, name)
	return strings.TrimSpace(s)
}

func fileAttrRaw(f attrFiles, name string) (string, bool) {
	b, err := f.ReadFile(name, maxAttrSize)
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(string(b), "\n"), true
}

// usbIdentity reads the usb_device directory dir through f; uevent is its uevent file
// if already read (nil: the bus and device numbers are read from their attributes).
// decision leaves out what no decision or record uses (the speed attribute).
func usbIdentity(r Roots, sysRoot, dir string, f attrFiles, uevent map[string]string, decision bool) (*USBInfo, media.Identity, Quality, string) {
	// Every read is three system calls on the decision path of every USB device: each
	// attribute is read once, and the ones the kernel prints from the device descriptor
	// (idVendor, idProduct, bcdDevice, version) are taken from the descriptors file, the
	// same bytes, when it parses.
	raw, rawErr := f.ReadFile("descriptors", maxDescriptors)
	var desc USBDescriptors
	descErr := rawErr
	if rawErr == nil {
		desc, descErr = ParseDescriptors(raw)
	}
	var vid, pid, bcdDevice, version string
	if descErr == nil {
		vid, pid = fmt.Sprintf("%04x", desc.VendorID), fmt.Sprintf("%04x", desc.ProductID)
		bcdDevice = fmt.Sprintf("%04x", desc.BcdDevice)
		version = fmt.Sprintf("%x.%02x", desc.BcdUSB>>8, desc.BcdUSB&0xff)
	} else {
		vid, pid = fileAttr(f, "idVendor"), fileAttr(f, "idProduct")
		bcdDevice, version = fileAttr(f, "bcdDevice"), fileAttr(f, "version")
	}
	u := &USBInfo{
		Port:         filepath.Base(dir),
		SysPath:      devpath(sysRoot, dir),
		VendorID:     hexID(vid, 4),
		ProductID:    hexID(pid, 4),
		BcdDevice:    EscapeComponent(bcdDevice),
		BcdUSB:       EscapeComponent(version),
		Manufacturer: clean(fileAttr(f, "manufacturer")),
		Product:      clean(fileAttr(f, "product")),
		Authorized:   fileAttr(f, "authorized") != "0",
	}
	if !decision {
		u.Speed = EscapeComponent(fileAttr(f, "speed"))
	}
	busnum, devnum := ueventNumber(uevent, "BUSNUM"), ueventNumber(uevent, "DEVNUM")
	if busnum == "" || devnum == "" {
		busnum, devnum = fileAttr(f, "busnum"), fileAttr(f, "devnum")
	}
	u.Busnum, u.Devnum = EscapeComponent(busnum), EscapeComponent(devnum)
	serial, hasSerial := fileAttrRaw(f, "serial")
	if !hasSerial {
		serial = ""
	}
	id := media.Identity{
		Kind:      media.KindOther,
		Key:       USBKey(vid, pid, serial),
		Serial:    displaySerial(serial),
		VendorID:  u.VendorID,
		ProductID: u.ProductID,
	}
	q := CheckSerial(serial)
	var problem string
	if rawErr == nil && busnum != "" && devnum != "" {
		u.Stamp = sysfs.MakeUSBStamp(busnum, devnum, raw)
	}
	err := descErr
	if rawErr == nil {
		if err == nil {
			ifs := desc.InterfaceClasses()
			for _, c := range ifs {
				u.Interfaces = append(u.Interfaces, c.String())
				if n := ClassName(c.Class); !slices.Contains(u.Classes, n) {
					u.Classes = append(u.Classes, n)
				}
			}
			slices.Sort(u.Classes)
			u.Functions = Functions(desc.DeviceClass, ifs)
			u.DescriptorHash, u.RawDescriptorHash = desc.CanonicalHash, desc.RawHash
			id.DescriptorHash = desc.CanonicalHash
			id.InterfaceClasses = classCodes(ifs)
			if desc.DeviceClass == 0x09 && !slices.Contains(id.InterfaceClasses, 0x09) {
				id.InterfaceClasses = append([]int{0x09}, id.InterfaceClasses...)
			}
		}
	}
	if err != nil {
		problem = fmt.Sprintf("usb descriptors: %v", err)
	}
	if slices.Contains(u.Functions, FuncStorage) {
		id.Kind = media.KindUSBDisk
	}
	return u, id, q, problem
}

// ueventNumber is a bus or device number of a usb_device's uevent ("BUSNUM=002") as
// its attribute prints it ("2"), or "" if it is not a small decimal number.
func ueventNumber(uevent map[string]string, key string) string {
	v := uevent[key]
	if v == "" || len(v) > 4 || !isDigits(v) {
		return ""
	}
	n, _ := strconv.Atoi(v)
	return strconv.Itoa(n)
}

// Scan lists the removable storage devices, media and USB devices attached: every
// whole block device that is not internal (USB, SD/MMC cards, optical drives,
// removable disks) and every USB device that is not a root hub and not already
// listed through one of its block devices. Loop, RAM, device-mapper, md, zram and nbd
// devices are skipped. A system with none returns an empty list and no error;
// devices that vanish during the scan are skipped.
func Scan(r Roots) ([]Device, error) {
	out := []Device{}
	covered := map[string]bool{}
	disks, err := wholeDisks(r)
	if disks == nil {
		return out, err
	}
	errs := []error{err}
	for _, d := range disks {
		if d.Internal {
			continue
		}
		if d.USB != nil {
			covered[d.USB.Port] = true
		}
		out = append(out, d)
	}
	usbs, err := sysfs.USBDevices(r.Sys)
	if err != nil {
		return out, err
	}
	for _, u := range usbs {
		if covered[u.Name] {
			continue
		}
		d, err := ReadDevice(r, filepath.Join(r.Sys, "bus", "usb", "devices", u.Name))
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// wholeDisks reads every whole block device that is not virtual (loop, RAM, dm …).
// It returns nil and the error when the block class cannot be listed at all; devices
// that vanish while being read are skipped, other read errors are joined.
func wholeDisks(r Roots) ([]Device, error) {
	disks, err := sysfs.Disks(r.Sys)
	if err != nil {
		return nil, err
	}
	out := []Device{}
	var errs []error
	for _, disk := range disks {
		name := disk.Name
		d, err := ReadDevice(r, filepath.Join(r.Sys, "class", "block", name))
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		if d.Name != name {
			continue // a partition, resolved to its disk
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// Resolve finds a device by a reference a person types: a device node ("/dev/sdb",
// "/dev/sr0", "/dev/sdb1" for its disk, a /dev/disk/by-id link), a kernel name
// ("sdb", "mmcblk0") or a USB port ("usb:2-1", "2-1").
func Resolve(r Roots, ref string) (Device, error) {
	name := strings.TrimSpace(ref)
	if port, ok := strings.CutPrefix(name, "usb:"); ok {
		if !validName(port) {
			return Device{}, fmt.Errorf("%w: %q", ErrNotFound, ref)
		}
		return ReadDevice(r, filepath.Join(r.Sys, "bus", "usb", "devices", port))
	}
	for _, prefix := range []string{filepath.Clean(r.Dev) + "/", "/dev/"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			name = rest
			break
		}
	}
	if strings.Contains(name, "/") && filepath.IsLocal(name) {
		devRoot, err := filepath.EvalSymlinks(r.Dev)
		if err == nil {
			if target, err := filepath.EvalSymlinks(filepath.Join(r.Dev, name)); err == nil &&
				strings.HasPrefix(target, devRoot+"/") {
				name = strings.TrimPrefix(target, devRoot+"/")
			}
		}
	}
	if !validName(name) {
		return Device{}, fmt.Errorf("%w: %q", ErrNotFound, ref)
	}
	if exists(filepath.Join(r.Sys, "class", "block"), name) {
		return ReadDevice(r, filepath.Join(r.Sys, "class", "block", name))
	}
	if exists(filepath.Join(r.Sys, "bus", "usb", "devices"), name) {
		return ReadDevice(r, filepath.Join(r.Sys, "bus", "usb", "devices", name))
	}
	return Device{}, fmt.Errorf("%w: %q", ErrNotFound, ref)
}

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\x00")
}

func listDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names, nil
}

// readCapped reads a whole file, refusing files larger than limit (ErrTooLarge).
func readCapped(path string, limit int64) ([]byte, error) { return sysfs.ReadFileCapped(path, limit) }

// attrRaw reads a sysfs text attribute without its trailing newline.
func attrRaw(dir, name string) (string, bool) {
	if dir == "" {
		return "", false
	}
	b, err := readCapped(filepath.Join(dir, name), maxAttrSize)
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(string(b), "\n"), true
}

// attr reads a sysfs attribute trimmed of surrounding white space.
func attr(dir, name string) string {
	s, _ := attrRaw(dir, name)
	return strings.TrimSpace(s)
}

func attrInt(dir, name string) int64 {
	n, err := strconv.ParseInt(attr(dir, name), 10, 64)
	if err != nil || n < 0 || n > 1<<52 {
		return 0
	}
	return n
}

func exists(dir, name string) bool {
	if dir == "" {
		return false
	}
	return sysfs.Exists(filepath.Join(dir, name))
}

func readUevent(dir string) map[string]string {
	b, err := readCapped(filepath.Join(dir, "uevent"), maxUdevDBSize)
	if err != nil {
		return map[string]string{}
	}
	props, _ := ParseProperties(b)
	return props
}

// readUdev reads the udev database entry of a device ("b8:16", "c189:1"). A missing
// entry (udevd not running) gives an empty map.
func readUdev(r Roots, typ string, uevent map[string]string) map[string]string {
	major, minor := uevent["MAJOR"], uevent["MINOR"]
	if !isDigits(major) || !isDigits(minor) || r.UdevData == "" {
		return map[string]string{}
	}
	b, err := readCapped(filepath.Join(r.UdevData, typ+major+":"+minor), maxUdevDBSize)
	if err != nil {
		return map[string]string{}
	}
	rec, _ := ParseUdevDB(b)
	return rec.Properties
}

// vpdSerial reads the unit serial number from the SCSI VPD page 0x80 sysfs file.
func vpdSerial(scsiDir string) string {
	if scsiDir == "" {
		return ""
	}
	b, err := readCapped(filepath.Join(scsiDir, "vpd_pg80"), 512)
	if err != nil || len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n > len(b)-4 {
		n = len(b) - 4
	}
	return TrimSerial(string(b[4 : 4+n]))
}

// cardReaderReason: a card behind a USB reader shows only the reader's identity.
const cardReaderReason = "the serial identifies the card reader, not the card in it"

func isCardReader(manufacturer, product, scsiModel string, props map[string]string) bool {
	if props["ID_DRIVE_FLASH_SD"] == "1" || props["ID_DRIVE_MEDIA_FLASH_SD"] == "1" {
		return true
	}
	s := strings.ToLower(manufacturer + " " + product + " " + scsiModel)
	for _, w := range []string{"card reader", "cardreader", "card-reader", "sd/mmc", "multi-card", "multicard", "usb2.0-crw", "sd reader"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// clean keeps printable characters of a device-provided string, collapses white
// space and caps its length, for labels.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffd {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "")
	}
	return s
}

// displaySerial is the serial as stored in media.Identity.Serial: the trimmed serial
// when it is printable and not too long, the escaped key component otherwise.
func displaySerial(s string) string {
	t := TrimSerial(s)
	if t != "" && len(t) <= MaxSerialLen && clean(t) == t {
		return t
	}
	return EscapeComponent(s)
}

func joinLabel(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = clean(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
