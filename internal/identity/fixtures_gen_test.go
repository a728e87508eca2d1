package identity

// This file writes the recorded device trees in testdata/devices/ (run
// `go test -run TestGenerateFixtures -gen-fixtures`). The trees mirror what the kernel
// and udev 252 show for each device: the sysfs attribute files along the device's
// path, the /sys/class/block and /sys/bus/usb/devices links, the udev database entries
// and the raw descriptors, written byte by byte following USB 2.0 §9.6 and USB 3.2
// §9.6 with the real devices' IDs and layouts. They are generated rather than copied
// from a live /sys (which holds thousands of files) so that each stays a few KB and
// every byte is explained here.

import (
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var genFixtures = flag.Bool("gen-fixtures", false, "rewrite testdata/devices from fixtures_gen_test.go")

const fixtureDir = "../../testdata/devices"

// tree maps a path below the fixture root to a file (string or []byte) or a link.
type tree map[string]any

type link string

func (t tree) write(root string) error {
	paths := make([]string, 0, len(t))
	for p := range t {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		switch v := t[p].(type) {
		case string:
			if err := os.WriteFile(full, []byte(v), 0o644); err != nil {
				return err
			}
		case []byte:
			if err := os.WriteFile(full, v, 0o644); err != nil {
				return err
			}
		case link:
			if err := os.Symlink(string(v), full); err != nil {
				return err
			}
		}
	}
	return nil
}

// relLink returns a link from the directory of from to to (both below the root).
func relLink(from, to string) link {
	r, err := filepath.Rel(filepath.Dir(from), to)
	if err != nil {
		panic(err)
	}
	return link(r)
}

// --- USB descriptors (little-endian multi-byte fields) ---

func devDesc(bcdUSB uint16, cls, sub, proto, mps0 byte, vid, pid, bcd uint16, iM, iP, iS, nConf byte) []byte {
	b := []byte{18, 1}
	b = binary.LittleEndian.AppendUint16(b, bcdUSB)
	b = append(b, cls, sub, proto, mps0)
	b = binary.LittleEndian.AppendUint16(b, vid)
	b = binary.LittleEndian.AppendUint16(b, pid)
	b = binary.LittleEndian.AppendUint16(b, bcd)
	return append(b, iM, iP, iS, nConf)
}

// cfgDesc builds a configuration descriptor with wTotalLength over its body.
func cfgDesc(value, iCfg, attrs, maxPower, nIf byte, body ...[]byte) []byte {
	var rest []byte
	for _, p := range body {
		rest = append(rest, p...)
	}
	b := []byte{9, 2}
	b = binary.LittleEndian.AppendUint16(b, uint16(9+len(rest)))
	return append(append(b, nIf, value, iCfg, attrs, maxPower), rest...)
}

func ifDesc(num, alt, nEP, cls, sub, proto, iIf byte) []byte {
	return []byte{9, 4, num, alt, nEP, cls, sub, proto, iIf}
}

func epDesc(addr, attr byte, mps uint16, interval byte) []byte {
	b := []byte{7, 5, addr, attr}
	b = binary.LittleEndian.AppendUint16(b, mps)
	return append(b, interval)
}

func ssComp(burst byte) []byte { return []byte{6, 0x30, burst, 0, 0, 0} }
func hidDesc(reportLen uint16) []byte {
	b := []byte{9, 0x21, 0x11, 0x01, 0, 1, 0x22}
	return binary.LittleEndian.AppendUint16(b, reportLen)
}
func pipeUsage(id byte) []byte { return []byte{4, 0x24, id, 0} }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// bulkPair is the two bulk endpoints of a Bulk-Only Transport interface.
func bulkPair(mps uint16, burst int) []byte {
	in, out := epDesc(0x81, 2, mps, 0), epDesc(0x02, 2, mps, 0)
	if burst >= 0 {
		return cat(in, ssComp(byte(burst)), out, ssComp(byte(burst)))
	}
	return cat(in, out)
}

// --- sysfs pieces ---

type usbDev struct {
	path                  string // devpath without leading /sys, e.g. devices/pci…/usb2/2-1
	vid, pid, bcdDevice   string
	version, speed        string
	serial                *string
	manufacturer, product string
	busnum, devnum        int
	class                 string
	desc                  []byte
	ifaces                [][4]string // name suffix ("1.0"), class, subclass, protocol
	udev                  []string    // E: lines
	authorized            string
}

func str(s string) *string { return &s }

func (u usbDev) add(t tree) {
	p := "sys/" + u.path
	port := filepath.Base(u.path)
	minor := (u.busnum-1)*128 + u.devnum - 1
	t[p+"/idVendor"] = u.vid + "\n"
	t[p+"/idProduct"] = u.pid + "\n"
	t[p+"/bcdDevice"] = u.bcdDevice + "\n"
	t[p+"/version"] = u.version + "\n"
	t[p+"/speed"] = u.speed + "\n"
	t[p+"/busnum"] = fmt.Sprintf("%d\n", u.busnum)
	t[p+"/devnum"] = fmt.Sprintf("%d\n", u.devnum)
	t[p+"/bDeviceClass"] = u.class + "\n"
	t[p+"/bNumInterfaces"] = fmt.Sprintf("%2d\n", len(u.ifaces))
	t[p+"/removable"] = "removable\n"
	auth := u.authorized
	if auth == "" {
		auth = "1"
	}
	t[p+"/authorized"] = auth + "\n"
	t[p+"/dev"] = fmt.Sprintf("189:%d\n", minor)
	if u.serial != nil {
		t[p+"/serial"] = *u.serial + "\n"
	}
	if u.manufacturer != "" {
		t[p+"/manufacturer"] = u.manufacturer + "\n"
	}
	if u.product != "" {
		t[p+"/product"] = u.product + "\n"
	}
	t[p+"/descriptors"] = u.desc
	vid, pid, bcd := strings.TrimLeft(u.vid, "0"), strings.TrimLeft(u.pid, "0"), strings.TrimLeft(u.bcdDevice, "0")
	if bcd == "" {
		bcd = "0"
	}
	t[p+"/uevent"] = fmt.Sprintf("MAJOR=189\nMINOR=%d\nDEVNAME=bus/usb/%03d/%03d\nDEVTYPE=usb_device\nDRIVER=usb\nPRODUCT=%s/%s/%s\nTYPE=%s/0/0\nBUSNUM=%03d\nDEVNUM=%03d\n",
		minor, u.busnum, u.devnum, vid, pid, bcd, strings.TrimLeft(u.class, "0")+map[bool]string{true: "0"}[strings.Trim(u.class, "0") == ""], u.busnum, u.devnum)
	t["sys/bus/usb/devices/"+port] = relLink("sys/bus/usb/devices/"+port, p)
	for _, i := range u.ifaces {
		ip := p + "/" + port + ":" + i[0]
		t[ip+"/bInterfaceClass"] = i[1] + "\n"
		t[ip+"/bInterfaceSubClass"] = i[2] + "\n"
		t[ip+"/bInterfaceProtocol"] = i[3] + "\n"
		t[ip+"/uevent"] = fmt.Sprintf("DEVTYPE=usb_interface\nPRODUCT=%s/%s/%s\nTYPE=%s/0/0\nINTERFACE=%d/%d/%d\n",
			vid, pid, bcd, "0", hexToInt(i[1]), hexToInt(i[2]), hexToInt(i[3]))
		t["sys/bus/usb/devices/"+port+":"+i[0]] = relLink("sys/bus/usb/devices/"+port+":"+i[0], ip)
	}
	lines := append([]string{"I:4211327", "E:ID_BUS=usb", "E:ID_VENDOR_ID=" + u.vid, "E:ID_MODEL_ID=" + u.pid, "E:ID_REVISION=" + u.bcdDevice}, u.udev...)
	if u.serial != nil {
		lines = append(lines, "E:ID_SERIAL_SHORT="+*u.serial)
	}
	lines = append(lines, "G:uaccess", "Q:uaccess", "V:1")
	t[fmt.Sprintf("run/udev/data/c189:%d", minor)] = strings.Join(lines, "\n") + "\n"
}

func hexToInt(s string) int {
	var n int
	fmt.Sscanf(s, "%x", &n)
	return n
}

// rootHub adds a root hub that Scan must skip.
func rootHub(t tree, path string, bus int, bcdUSB uint16, speed string) {
	pid := "0002"
	if bcdUSB >= 0x0300 {
		pid = "0003"
	}
	usbDev{path: path, vid: "1d6b", pid: pid, bcdDevice: "0601", version: fmt.Sprintf("%2x.%02x", bcdUSB>>8, bcdUSB&0xff),
		speed: speed, serial: str("0000:00:14.0"), manufacturer: "Linux 6.1.0-28-amd64 xhci-hcd", product: "xHCI Host Controller",
		busnum: bus, devnum: 1, class: "09",
		desc: cat(devDesc(bcdUSB, 9, 0, 3, 9, 0x1d6b, 3, 0x0601, 3, 2, 1, 1),
			cfgDesc(1, 0, 0xe0, 0, 1, ifDesc(0, 0, 1, 9, 0, 0, 0), epDesc(0x81, 3, 4, 12), ssComp(0))),
		ifaces: [][4]string{{"1.0", "09", "00", "00"}},
	}.add(t)
}

type scsiBlock struct {
	under              string // devpath of the parent (USB interface or ata host)
	host               int
	vendor, model, rev string
	typ                int
	name               string
	major, minor       int
	sectors            int64
	removable          bool
	parts              int
	udev               []string
	vpd80              string
	wwid               string
}

func (s scsiBlock) add(t tree) string {
	hctl := fmt.Sprintf("%d:0:0:0", s.host)
	sd := fmt.Sprintf("sys/%s/host%d/target%d:0:0/%s", s.under, s.host, s.host, hctl)
	t[sd+"/vendor"] = fmt.Sprintf("%-8s\n", s.vendor)
	t[sd+"/model"] = fmt.Sprintf("%-16s\n", s.model)
	t[sd+"/rev"] = fmt.Sprintf("%-4s\n", s.rev)
	t[sd+"/type"] = fmt.Sprintf("%d\n", s.typ)
	t[sd+"/uevent"] = fmt.Sprintf("DEVTYPE=scsi_device\nDRIVER=%s\nMODALIAS=scsi:t-0x%02x\n", map[int]string{0: "sd", 5: "sr"}[s.typ], s.typ)
	if s.vpd80 != "" {
		b := []byte{0, 0x80, 0, byte(len(s.vpd80))}
		t[sd+"/vpd_pg80"] = append(b, s.vpd80...)
	}
	if s.wwid != "" {
		t[sd+"/wwid"] = s.wwid + "\n"
	}
	bp := sd + "/block/" + s.name
	t[bp+"/size"] = fmt.Sprintf("%d\n", s.sectors)
	t[bp+"/removable"] = map[bool]string{true: "1\n", false: "0\n"}[s.removable]
	t[bp+"/ro"] = "0\n"
	t[bp+"/dev"] = fmt.Sprintf("%d:%d\n", s.major, s.minor)
	t[bp+"/uevent"] = fmt.Sprintf("MAJOR=%d\nMINOR=%d\nDEVNAME=%s\nDEVTYPE=disk\nDISKSEQ=%d\n", s.major, s.minor, s.name, 9+s.minor)
	t[bp+"/device"] = relLink(bp+"/device", sd)
	t["sys/class/block/"+s.name] = relLink("sys/class/block/"+s.name, bp)
	t[fmt.Sprintf("run/udev/data/b%d:%d", s.major, s.minor)] = strings.Join(append([]string{"S:disk/by-path/pci-0000:00:14.0", "I:4212001"}, append(s.udev, "G:systemd", "Q:systemd", "V:1")...), "\n") + "\n"
	for i := 1; i <= s.parts; i++ {
		pn := fmt.Sprintf("%s%d", s.name, i)
		pp := bp + "/" + pn
		t[pp+"/partition"] = fmt.Sprintf("%d\n", i)
		t[pp+"/start"] = "2048\n"
		t[pp+"/size"] = fmt.Sprintf("%d\n", s.sectors-2048)
		t[pp+"/dev"] = fmt.Sprintf("%d:%d\n", s.major, s.minor+i)
		t[pp+"/uevent"] = fmt.Sprintf("MAJOR=%d\nMINOR=%d\nDEVNAME=%s\nDEVTYPE=partition\nPARTN=%d\n", s.major, s.minor+i, pn, i)
		t["sys/class/block/"+pn] = relLink("sys/class/block/"+pn, pp)
		t[fmt.Sprintf("run/udev/data/b%d:%d", s.major, s.minor+i)] = "E:ID_FS_TYPE=vfat\nE:ID_FS_UUID=1A2B-3C4D\nE:ID_PART_ENTRY_NUMBER=1\nV:1\n"
	}
	return bp
}

const pci = "devices/pci0000:00/0000:00:14.0"

// fixtures returns every recorded device tree by name.
func fixtures() map[string]tree {
	fx := map[string]tree{}

	// SanDisk Cruzer Blade (USB 2.0 stick), 0781:5567, on a USB 2 port.
	{
		t := tree{}
		rootHub(t, pci+"/usb1", 1, 0x0200, "480")
		serial := "4C530001231219117142"
		usbDev{path: pci + "/usb1/1-2", vid: "0781", pid: "5567", bcdDevice: "0100", version: " 2.00", speed: "480",
			serial: str(serial), manufacturer: " SanDisk", product: " Cruzer Blade", busnum: 1, devnum: 3, class: "00",
			desc: cat(devDesc(0x0200, 0, 0, 0, 64, 0x0781, 0x5567, 0x0100, 1, 2, 3, 1),
				cfgDesc(1, 0, 0x80, 100, 1, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(512, -1))),
			ifaces: [][4]string{{"1.0", "08", "06", "50"}},
			udev:   []string{"E:ID_VENDOR=SanDisk", "E:ID_MODEL=Cruzer_Blade", "E:ID_USB_INTERFACES=:080650:"},
		}.add(t)
		scsiBlock{under: pci + "/usb1/1-2/1-2:1.0", host: 6, vendor: "SanDisk", model: "Cruzer Blade", rev: "1.00", name: "sdb",
			major: 8, minor: 16, sectors: 30031872, removable: true, parts: 1,
			udev: []string{"E:ID_BUS=usb", "E:ID_VENDOR=SanDisk", "E:ID_MODEL=Cruzer_Blade", "E:ID_SERIAL=SanDisk_Cruzer_Blade_" + serial + "-0:0",
				"E:ID_SERIAL_SHORT=" + serial, "E:ID_TYPE=disk", "E:ID_USB_DRIVER=usb-storage", "E:ID_USB_INTERFACES=:080650:", "E:ID_PART_TABLE_TYPE=dos"}}.add(t)
		fx["usb2-stick"] = t
	}

	// Kingston DataTraveler 3.0 (USB 3 stick), 0951:1666, on a SuperSpeed port.
	kingston := func(t tree, serial string, withHID bool) {
		body := [][]byte{ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(1024, 3)}
		ifs := [][4]string{{"1.0", "08", "06", "50"}}
		nIf := byte(1)
		if withHID {
			body = append(body, ifDesc(1, 0, 1, 3, 1, 1, 0), hidDesc(63), epDesc(0x83, 3, 8, 10), ssComp(0))
			ifs = append(ifs, [4]string{"1.1", "03", "01", "01"})
			nIf = 2
		}
		usbDev{path: pci + "/usb2/2-1", vid: "0951", pid: "1666", bcdDevice: "0110", version: " 3.00", speed: "5000",
			serial: str(serial), manufacturer: "Kingston", product: "DataTraveler 3.0", busnum: 2, devnum: 2, class: "00",
			desc:   cat(devDesc(0x0300, 0, 0, 0, 9, 0x0951, 0x1666, 0x0110, 1, 2, 3, 1), cfgDesc(1, 0, 0x80, 36, nIf, body...)),
			ifaces: ifs, udev: []string{"E:ID_VENDOR=Kingston", "E:ID_MODEL=DataTraveler_3.0"},
		}.add(t)
		scsiBlock{under: pci + "/usb2/2-1/2-1:1.0", host: 7, vendor: "Kingston", model: "DataTraveler 3.0", rev: "PMAP", name: "sdc",
			major: 8, minor: 32, sectors: 60437492, removable: true, parts: 1,
			udev: []string{"E:ID_BUS=usb", "E:ID_VENDOR=Kingston", "E:ID_MODEL=DataTraveler_3.0", "E:ID_SERIAL=Kingston_DataTraveler_3.0_" + serial + "-0:0",
				"E:ID_SERIAL_SHORT=" + serial, "E:ID_TYPE=disk", "E:ID_USB_DRIVER=usb-storage"}}.add(t)
	}
	{
		t := tree{}
		rootHub(t, pci+"/usb2", 2, 0x0300, "5000")
		kingston(t, "60A44C4138B7F2B0A9D2013F", false)
		fx["usb3-stick"] = t
	}
	// The same model and serial presenting an extra HID boot keyboard interface, as a
	// BadUSB device imitating a registered stick would.
	{
		t := tree{}
		kingston(t, "60A44C4138B7F2B0A9D2013F", true)
		fx["stick-with-hid"] = t
	}

	// Genesys Logic GL3224 USB 3.0 card reader (05e3:0749) with a 32 GB SD card.
	{
		t := tree{}
		serial := "000000001532"
		usbDev{path: pci + "/usb2/2-2", vid: "05e3", pid: "0749", bcdDevice: "1532", version: " 3.00", speed: "5000",
			serial: str(serial), manufacturer: "Generic", product: "USB3.0 Card Reader", busnum: 2, devnum: 3, class: "00",
			desc: cat(devDesc(0x0300, 0, 0, 0, 9, 0x05e3, 0x0749, 0x1532, 3, 4, 5, 1),
				cfgDesc(1, 0, 0x80, 112, 1, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(1024, 3))),
			ifaces: [][4]string{{"1.0", "08", "06", "50"}},
			udev:   []string{"E:ID_VENDOR=Generic", "E:ID_MODEL=USB3.0_Card_Reader"},
		}.add(t)
		scsiBlock{under: pci + "/usb2/2-2/2-2:1.0", host: 8, vendor: "Generic", model: "STORAGE DEVICE", rev: "1532", name: "sdd",
			major: 8, minor: 48, sectors: 62333952, removable: true, parts: 1,
			udev: []string{"E:ID_BUS=usb", "E:ID_VENDOR=Generic", "E:ID_MODEL=STORAGE_DEVICE", "E:ID_SERIAL=Generic_STORAGE_DEVICE_" + serial + "-0:0",
				"E:ID_SERIAL_SHORT=" + serial, "E:ID_TYPE=disk", "E:ID_DRIVE_FLASH_SD=1", "E:ID_DRIVE_MEDIA_FLASH_SD=1"}}.add(t)
		fx["card-reader-sd"] = t
	}

	// JMicron JMS578 SATA bridge (152d:0578, BOT + UAS alternate settings) with a
	// Seagate 1 TB laptop disk; the bridge reports the placeholder serial.
	{
		t := tree{}
		serial := "0123456789ABCDEF"
		uas := cat(ifDesc(0, 1, 4, 8, 6, 0x62, 0),
			epDesc(0x81, 2, 1024, 0), ssComp(15), pipeUsage(3),
			epDesc(0x02, 2, 1024, 0), ssComp(15), pipeUsage(4),
			epDesc(0x83, 2, 1024, 0), ssComp(15), pipeUsage(2),
			epDesc(0x04, 2, 1024, 0), ssComp(0), pipeUsage(1))
		usbDev{path: pci + "/usb2/2-3", vid: "152d", pid: "0578", bcdDevice: "0408", version: " 3.10", speed: "5000",
			serial: str(serial), manufacturer: "JMicron", product: "USB to ATA/ATAPI Bridge", busnum: 2, devnum: 4, class: "00",
			desc: cat(devDesc(0x0310, 0, 0, 0, 9, 0x152d, 0x0578, 0x0408, 1, 2, 3, 1),
				cfgDesc(1, 0, 0x80, 2, 1, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(1024, 15), uas)),
			ifaces: [][4]string{{"1.0", "08", "06", "62"}},
			udev:   []string{"E:ID_VENDOR=JMicron", "E:ID_MODEL=USB_to_ATA_ATAPI_Bridge", "E:ID_USB_INTERFACES=:080650:080662:"},
		}.add(t)
		scsiBlock{under: pci + "/usb2/2-3/2-3:1.0", host: 9, vendor: "ST1000LM", model: "035-1RK172", rev: "0408", name: "sde",
			major: 8, minor: 64, sectors: 1953525168, removable: false, parts: 1, vpd80: "WL1A2B3C",
			udev: []string{"E:ID_BUS=usb", "E:ID_VENDOR=ST1000LM", "E:ID_MODEL=035-1RK172", "E:ID_SERIAL=ST1000LM_035-1RK172_" + serial + "-0:0",
				"E:ID_SERIAL_SHORT=" + serial, "E:ID_SCSI_SERIAL=WL1A2B3C", "E:ID_TYPE=disk", "E:ID_USB_DRIVER=uas"}}.add(t)
		fx["usb-hdd-sata-bridge"] = t
	}

	// Initio INIC-1618L USB DVD enclosure (13fd:0840) with an LG DVD writer.
	dvd := func(t tree, sectors int64, media []string) {
		serial := "5A0C0E4F1D2B"
		usbDev{path: pci + "/usb1/1-4", vid: "13fd", pid: "0840", bcdDevice: "0100", version: " 2.00", speed: "480",
			serial: str(serial), manufacturer: "Initio Corporation", product: "INIC-1618L SATA", busnum: 1, devnum: 5, class: "00",
			desc: cat(devDesc(0x0200, 0, 0, 0, 64, 0x13fd, 0x0840, 0x0100, 1, 2, 3, 1),
				cfgDesc(1, 0, 0xc0, 1, 1, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(512, -1))),
			ifaces: [][4]string{{"1.0", "08", "06", "50"}},
		}.add(t)
		scsiBlock{under: pci + "/usb1/1-4/1-4:1.0", host: 10, vendor: "HL-DT-ST", model: "DVDRAM GP65NB60", rev: "PF00", typ: 5,
			name: "sr0", major: 11, minor: 0, sectors: sectors, removable: true,
			udev: append([]string{"E:ID_BUS=usb", "E:ID_CDROM=1", "E:ID_CDROM_DVD=1", "E:ID_CDROM_DVD_R=1", "E:ID_CDROM_DVD_RW=1",
				"E:ID_TYPE=cd", "E:ID_VENDOR=HL-DT-ST", "E:ID_MODEL=DVDRAM_GP65NB60", "E:ID_SERIAL_SHORT=" + serial}, media...)}.add(t)
	}
	{
		t := tree{}
		dvd(t, isoTestSectors*4, []string{"E:ID_CDROM_MEDIA=1", "E:ID_CDROM_MEDIA_DVD=1", "E:ID_CDROM_MEDIA_STATE=complete",
			"E:ID_CDROM_MEDIA_SESSION_COUNT=1", "E:ID_CDROM_MEDIA_TRACK_COUNT=1", "E:ID_CDROM_MEDIA_TRACK_COUNT_DATA=1",
			"E:ID_FS_TYPE=iso9660", "E:ID_FS_LABEL=REPORTS_2026"})
		fx["usb-dvd-iso"] = t
	}
	{
		t := tree{}
		dvd(t, 0, []string{"E:ID_CDROM_MEDIA=1", "E:ID_CDROM_MEDIA_DVD_PLUS_R=1", "E:ID_CDROM_MEDIA_STATE=blank",
			"E:ID_CDROM_MEDIA_SESSION_NEXT=1", "E:ID_CDROM_MEDIA_SESSION_COUNT=1", "E:ID_CDROM_MEDIA_TRACK_COUNT=1"})
		fx["usb-dvd-blank"] = t
	}

	// Internal Samsung SSD 860 EVO on AHCI port 1.
	{
		t := tree{}
		serial := "S3Z1NB0K812345A"
		scsiBlock{under: "devices/pci0000:00/0000:00:17.0/ata1", host: 0, vendor: "ATA", model: "Samsung SSD 860", rev: "4B6Q",
			name: "sda", major: 8, minor: 0, sectors: 976773168, removable: false, parts: 1, vpd80: fmt.Sprintf("%20s", serial),
			wwid: "t10.ATA     Samsung SSD 860 EVO 500GB               " + serial,
			udev: []string{"E:ID_ATA=1", "E:ID_BUS=ata", "E:ID_TYPE=disk", "E:ID_MODEL=Samsung_SSD_860_EVO_500GB", "E:ID_REVISION=RVT04B6Q",
				"E:ID_SERIAL=Samsung_SSD_860_EVO_500GB_" + serial, "E:ID_SERIAL_SHORT=" + serial, "E:ID_WWN=0x5002538e40a1b2c3",
				"E:ID_WWN_WITH_EXTENSION=0x5002538e40a1b2c3"}}.add(t)
		fx["internal-sata"] = t
	}

	// Internal Samsung 970 EVO Plus NVMe disk.
	{
		t := tree{}
		ctrl := "sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0"
		t[ctrl+"/serial"] = "S4EWNX0R123456T     \n"
		t[ctrl+"/model"] = "Samsung SSD 970 EVO Plus 1TB            \n"
		t[ctrl+"/firmware_rev"] = "2B2QEXM7\n"
		t[ctrl+"/uevent"] = "MAJOR=241\nMINOR=0\nDEVNAME=nvme0\n"
		ns := ctrl + "/nvme0n1"
		t[ns+"/wwid"] = "eui.0025385b91b2c3d4\n"
		t[ns+"/size"] = "1953525168\n"
		t[ns+"/removable"] = "0\n"
		t[ns+"/dev"] = "259:0\n"
		t[ns+"/uevent"] = "MAJOR=259\nMINOR=0\nDEVNAME=nvme0n1\nDEVTYPE=disk\nDISKSEQ=1\n"
		t["sys/class/block/nvme0n1"] = relLink("sys/class/block/nvme0n1", ns)
		t["run/udev/data/b259:0"] = "S:disk/by-id/nvme-eui.0025385b91b2c3d4\nE:ID_SERIAL_SHORT=S4EWNX0R123456T\nE:ID_MODEL=Samsung SSD 970 EVO Plus 1TB\nE:ID_WWN=eui.0025385b91b2c3d4\nE:ID_REVISION=2B2QEXM7\nV:1\n"
		fx["nvme"] = t
	}

	// Internal SD slot (PCI SD host) with a SanDisk 32 GB card: CID manfid 0x03,
	// OEM "SD", name "SC32G", revision 8.0, serial 0x1234abcd, made 05/2019.
	{
		t := tree{}
		card := "sys/devices/pci0000:00/0000:00:14.5/mmc_host/mmc0/mmc0:aaaa"
		t[card+"/cid"] = "035344534333324780" + "1234abcd" + "0135" + "e1" + "\n"
		t[card+"/manfid"] = "0x000003\n"
		t[card+"/oemid"] = "0x5344\n"
		t[card+"/name"] = "SC32G\n"
		t[card+"/serial"] = "0x1234abcd\n"
		t[card+"/date"] = "05/2019\n"
		t[card+"/hwrev"] = "0x8\n"
		t[card+"/fwrev"] = "0x0\n"
		t[card+"/type"] = "SD\n"
		t[card+"/uevent"] = "DRIVER=mmcblk\nMMC_TYPE=SD\nMMC_NAME=SC32G\nMODALIAS=mmc:block\n"
		b := card + "/block/mmcblk0"
		t[b+"/size"] = "62333952\n"
		t[b+"/removable"] = "0\n"
		t[b+"/dev"] = "179:0\n"
		t[b+"/uevent"] = "MAJOR=179\nMINOR=0\nDEVNAME=mmcblk0\nDEVTYPE=disk\nDISKSEQ=12\n"
		t["sys/class/block/mmcblk0"] = relLink("sys/class/block/mmcblk0", b)
		t["run/udev/data/b179:0"] = "S:disk/by-id/mmc-SC32G_0x1234abcd\nE:ID_NAME=SC32G\nE:ID_SERIAL=0x1234abcd\nE:ID_PART_TABLE_TYPE=dos\nV:1\n"
		fx["internal-sd"] = t
	}

	// Dell KB216 keyboard (413c:2113), low speed, no serial string.
	{
		t := tree{}
		usbDev{path: pci + "/usb1/1-3", vid: "413c", pid: "2113", bcdDevice: "0108", version: " 1.10", speed: "1.5",
			product: "Dell KB216 Wired Keyboard", busnum: 1, devnum: 4, class: "00",
			desc: cat(devDesc(0x0110, 0, 0, 0, 8, 0x413c, 0x2113, 0x0108, 0, 2, 0, 1),
				cfgDesc(1, 0, 0xa0, 50, 2,
					ifDesc(0, 0, 1, 3, 1, 1, 0), hidDesc(65), epDesc(0x81, 3, 8, 24),
					ifDesc(1, 0, 1, 3, 0, 0, 0), hidDesc(159), epDesc(0x82, 3, 8, 10))),
			ifaces: [][4]string{{"1.0", "03", "01", "01"}, {"1.1", "03", "00", "00"}},
			udev:   []string{"E:ID_INPUT=1", "E:ID_INPUT_KEYBOARD=1", "E:ID_USB_INTERFACES=:030101:030000:"},
		}.add(t)
		fx["usb-keyboard"] = t
	}

	// Realtek RTL8153 gigabit Ethernet adapter (0bda:8153): configuration 1 is the
	// vendor-specific r8152 interface, configuration 2 is CDC ECM.
	{
		t := tree{}
		ecm := cat(ifDesc(0, 0, 1, 2, 6, 0, 5),
			[]byte{5, 0x24, 0, 0x10, 0x01}, []byte{5, 0x24, 6, 0, 1},
			[]byte{13, 0x24, 0x0f, 3, 0, 0, 0, 0, 0xea, 0x05, 0, 0, 0},
			epDesc(0x83, 3, 16, 8), ssComp(0),
			ifDesc(1, 0, 0, 0x0a, 0, 0, 0),
			ifDesc(1, 1, 2, 0x0a, 0, 0, 4), bulkPair(1024, 3))
		usbDev{path: pci + "/usb2/2-4", vid: "0bda", pid: "8153", bcdDevice: "3000", version: " 3.00", speed: "5000",
			serial: str("000001000000"), manufacturer: "Realtek", product: "USB 10/100/1000 LAN", busnum: 2, devnum: 5, class: "00",
			desc: cat(devDesc(0x0300, 0, 0, 0, 9, 0x0bda, 0x8153, 0x3000, 1, 2, 6, 2),
				cfgDesc(1, 0, 0xa0, 36, 1, ifDesc(0, 0, 3, 0xff, 0xff, 0, 0), bulkPair(1024, 3), epDesc(0x83, 3, 2, 8), ssComp(0)),
				cfgDesc(2, 0, 0xa0, 36, 2, ecm)),
			ifaces: [][4]string{{"1.0", "ff", "ff", "00"}},
			udev:   []string{"E:ID_NET_NAME_MAC=enx00e04c680001", "E:ID_USB_INTERFACES=:ffff00:020600:0a0000:"},
		}.add(t)
		fx["usb-ethernet"] = t
	}

	// Google Pixel in "File transfer" mode with USB debugging: MTP (06/01/01) + ADB.
	{
		t := tree{}
		usbDev{path: pci + "/usb1/1-5", vid: "18d1", pid: "4ee2", bcdDevice: "0440", version: " 2.10", speed: "480",
			serial: str("29031FDH2006LZ"), manufacturer: "Google", product: "Pixel 7", busnum: 1, devnum: 6, class: "00",
			desc: cat(devDesc(0x0210, 0, 0, 0, 64, 0x18d1, 0x4ee2, 0x0440, 1, 2, 3, 1),
				cfgDesc(1, 0, 0x80, 250, 2,
					ifDesc(0, 0, 3, 6, 1, 1, 5), epDesc(0x81, 2, 512, 0), epDesc(0x01, 2, 512, 0), epDesc(0x82, 3, 28, 6),
					ifDesc(1, 0, 2, 0xff, 0x42, 1, 6), epDesc(0x02, 2, 512, 0), epDesc(0x83, 2, 512, 0))),
			ifaces: [][4]string{{"1.0", "06", "01", "01"}, {"1.1", "ff", "42", "01"}},
			udev:   []string{"E:ID_MTP_DEVICE=1", "E:ID_MEDIA_PLAYER=1", "E:ID_USB_INTERFACES=:060101:ff4201:"},
		}.add(t)
		fx["phone-mtp"] = t
	}

	// QEMU usb-storage on qemu-xhci (SuperSpeed descriptors of hw/usb/dev-storage.c),
	// device_add … serial=MEDIA0001, as in notes/testbed.md.
	qemuMSD := func(t tree, port string, devnum int, serial string) {
		usbDev{path: pci + "/usb2/" + port, vid: "46f4", pid: "0001", bcdDevice: "0000", version: " 3.00", speed: "5000",
			serial: str(serial), manufacturer: "QEMU", product: "QEMU USB HARDDRIVE", busnum: 2, devnum: devnum, class: "00",
			desc: cat(devDesc(0x0300, 0, 0, 0, 9, 0x46f4, 0x0001, 0x0000, 1, 2, 3, 1),
				cfgDesc(1, 6, 0xc0, 0, 1, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(1024, 15))),
			ifaces: [][4]string{{"1.0", "08", "06", "50"}},
			udev:   []string{"E:ID_VENDOR=QEMU", "E:ID_MODEL=QEMU_USB_HARDDRIVE"},
		}.add(t)
	}
	{
		t := tree{}
		rootHub(t, pci+"/usb2", 2, 0x0300, "5000")
		qemuMSD(t, "2-1", 2, "MEDIA0001")
		scsiBlock{under: pci + "/usb2/2-1/2-1:1.0", host: 2, vendor: "QEMU", model: "QEMU HARDDISK", rev: "2.5+", name: "sda",
			major: 8, minor: 0, sectors: 131072, removable: true, parts: 1,
			udev: []string{"E:ID_BUS=usb", "E:ID_VENDOR=QEMU", "E:ID_MODEL=QEMU_HARDDISK", "E:ID_SERIAL=QEMU_QEMU_HARDDISK_MEDIA0001-0:0",
				"E:ID_SERIAL_SHORT=MEDIA0001", "E:ID_TYPE=disk", "E:ID_USB_DRIVER=usb-storage", "E:ID_USB_VENDOR=QEMU", "E:ID_USB_MODEL=QEMU_USB_HARDDRIVE"}}.add(t)
		fx["qemu-usb-storage"] = t
	}
	// QEMU usb-bot + scsi-cd with an ISO 9660 disc attached.
	{
		t := tree{}
		qemuMSD(t, "2-2", 3, "CDROM0001")
		scsiBlock{under: pci + "/usb2/2-2/2-2:1.0", host: 3, vendor: "QEMU", model: "QEMU CD-ROM", rev: "2.5+", typ: 5, name: "sr0",
			major: 11, minor: 0, sectors: isoTestSectors * 4, removable: true,
			udev: []string{"E:ID_BUS=usb", "E:ID_CDROM=1", "E:ID_CDROM_MEDIA=1", "E:ID_CDROM_MEDIA_CD=1", "E:ID_CDROM_MEDIA_TRACK_COUNT_DATA=1",
				"E:ID_TYPE=cd", "E:ID_FS_TYPE=iso9660", "E:ID_FS_LABEL=QEMU_CD", "E:ID_SERIAL=QEMU_QEMU_CD-ROM_CDROM0001-0:0", "E:ID_SERIAL_SHORT=CDROM0001"}}.add(t)
		fx["qemu-usb-cd"] = t
	}
	return fx
}

func TestGenerateFixtures(t *testing.T) {
	if !*genFixtures {
		t.Skip("pass -gen-fixtures to rewrite testdata/devices")
	}
	for name, tr := range fixtures() {
		dir := filepath.Join(fixtureDir, name)
		for _, sub := range []string{"sys", "run"} {
			if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.write(dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	_ = hex.EncodeToString
}
