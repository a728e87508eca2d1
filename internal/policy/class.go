package policy

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"mediagate/internal/media"
)

// USB interface class codes that policy treats specially.
const (
	ClassAudio          = 0x01
	ClassCDC            = 0x02
	ClassHID            = 0x03
	ClassStillImage     = 0x06
	ClassPrinter        = 0x07
	ClassMassStorage    = 0x08
	ClassHub            = 0x09
	ClassCDCData        = 0x0A
	ClassSmartCard      = 0x0B
	ClassVideo          = 0x0E
	ClassWireless       = 0xE0
	ClassMisc           = 0xEF
	ClassVendorSpecific = 0xFF
)

// Class describes one USB interface class for people: its code, the key an officer
// writes in a host profile's AllowClasses, and its names in English and Chinese.
type Class struct {
	Code int    `json:"code"`
	Key  string `json:"key"`
	EN   string `json:"en"`
	ZH   string `json:"zh"`
}

// Name returns the class's name in the given language ("zh", "zh-CN" or English otherwise).
func (c Class) Name(lang string) string {
	if isZH(lang) {
		return c.ZH
	}
	return c.EN
}

// String returns the key and code, such as "audio (0x01)".
func (c Class) String() string { return fmt.Sprintf("%s (0x%02x)", c.Key, c.Code) }

// classTable is the one list of known USB interface classes (usb.org defined class codes).
var classTable = []Class{
	{0x01, "audio", "audio", "音频设备"},
	{0x02, "cdc", "communications / network (CDC)", "通信/网络设备(CDC)"},
	{0x03, "hid", "human interface (keyboard, mouse)", "人机接口设备(键盘、鼠标)"},
	{0x05, "physical", "physical interface", "物理接口设备"},
	{0x06, "still-image", "still image / phone (PTP, MTP)", "静态图像/手机(PTP、MTP)"},
	{0x07, "printer", "printer", "打印机"},
	{0x08, "mass-storage", "mass storage", "大容量存储设备"},
	{0x09, "hub", "hub", "集线器"},
	{0x0A, "cdc-data", "communications data (CDC data)", "通信数据设备(CDC数据)"},
	{0x0B, "smart-card", "smart card reader", "智能卡读卡器"},
	{0x0D, "content-security", "content security", "内容安全设备"},
	{0x0E, "video", "video (camera)", "视频设备(摄像头)"},
	{0x0F, "personal-healthcare", "personal healthcare", "个人医疗设备"},
	{0x10, "audio-video", "audio/video", "音视频设备"},
	{0x11, "billboard", "billboard", "Billboard设备"},
	{0x12, "usb-c-bridge", "USB Type-C bridge", "USB Type-C桥接设备"},
	{0xDC, "diagnostic", "diagnostic", "诊断设备"},
	{0xE0, "wireless", "wireless controller (Bluetooth, Wi-Fi)", "无线控制器(蓝牙、无线网卡)"},
	{0xEF, "misc", "miscellaneous", "杂项设备"},
	{0xFE, "application-specific", "application specific (firmware update, IrDA)", "特定应用设备(固件升级、红外)"},
	{0xFF, "vendor-specific", "vendor specific", "厂商自定义设备"},
}

// classAliases are other names accepted by ParseClass.
var classAliases = map[string]int{
	"storage":       ClassMassStorage,
	"usb-storage":   ClassMassStorage,
	"keyboard":      ClassHID,
	"mouse":         ClassHID,
	"image":         ClassStillImage,
	"ptp":           ClassStillImage,
	"mtp":           ClassStillImage,
	"camera":        ClassVideo,
	"webcam":        ClassVideo,
	"bluetooth":     ClassWireless,
	"smartcard":     ClassSmartCard,
	"ccid":          ClassSmartCard,
	"vendor":        ClassVendorSpecific,
	"miscellaneous": ClassMisc,
}

// Classes returns the table of known USB interface classes, ordered by code.
// The CLI shows it; officers use the keys in a host profile's AllowClasses.
func Classes() []Class { return append([]Class(nil), classTable...) }

// LookupClass returns the table entry for a class code. Unknown codes get a
// generated entry with key "0xNN" and ok false.
func LookupClass(code int) (c Class, ok bool) {
	for _, c := range classTable {
		if c.Code == code {
			return c, true
		}
	}
	k := fmt.Sprintf("0x%02x", code)
	return Class{Code: code, Key: k, EN: "unknown class " + k, ZH: "未知类别 " + k}, false
}

// ClassName returns the name of a class code in the given language.
func ClassName(code int, lang string) string {
	c, _ := LookupClass(code)
	return c.Name(lang)
}

// ParseClass reads a class as written in a host profile: a key ("audio"), an alias
// ("bluetooth", "mtp"), or a code in hex ("0x01", "01", "e0"); bare digits are read
// as hex, the way lsusb prints them.
// Case, surrounding space and "_"/" " versus "-" are ignored.
func ParseClass(s string) (int, error) {
	norm := strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' {
			return '-'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
	if norm == "" {
		return 0, fmt.Errorf("empty USB class")
	}
	for _, c := range classTable {
		if norm == c.Key {
			return c.Code, nil
		}
	}
	if code, ok := classAliases[norm]; ok {
		return code, nil
	}
	hex := strings.TrimPrefix(norm, "0x")
	if len(hex) <= 2 {
		if v, err := strconv.ParseUint(hex, 16, 8); err == nil {
			return int(v), nil
		}
	}
	return 0, fmt.Errorf("unknown USB class %q (see the class table for keys such as audio, video, wireless)", s)
}

// isDefaultPeripheral reports whether every classified host accepts a class: hubs, so
// that anything can be plugged in at all, and HID, so that the officer can type.
func isDefaultPeripheral(c int) bool { return c == ClassHub || c == ClassHID }

// classSet returns the sorted, de-duplicated union of the given class lists.
func classSet(lists ...[]int) []int {
	var out []int
	for _, l := range lists {
		for _, c := range l {
			if !containsInt(out, c) {
				out = append(out, c)
			}
		}
	}
	sort.Ints(out)
	return out
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// formatClasses renders class codes as "mass storage [0x08], hub [0x09]" for messages.
func formatClasses(codes []int, lang string) string {
	if len(codes) == 0 {
		if isZH(lang) {
			return "无"
		}
		return "none"
	}
	parts := make([]string, len(codes))
	for i, code := range codes {
		parts[i] = fmt.Sprintf("%s [0x%02x]", ClassName(code, lang), code)
	}
	sep := ", "
	if isZH(lang) {
		sep = "、"
	}
	return strings.Join(parts, sep)
}

func isZH(lang string) bool {
	l := strings.ToLower(lang)
	return l == "zh" || strings.HasPrefix(l, "zh-") || strings.HasPrefix(l, "zh_")
}

// ErrAllowList is returned by CheckAllowLists for an entry Decide would not understand.
var ErrAllowList = errors.New("invalid host allow list entry")

// CheckAllowLists reports the first entry of a host profile's AllowClasses or
// AllowDevices that Decide would ignore: a class ParseClass does not know, mass storage
// (storage is allowed only by registering the medium), or a device that is not
// VID:PID in hex. The CLI should call it before saving a profile.
func CheckAllowLists(h *media.Host) error {
	for _, name := range h.AllowClasses {
		c, err := ParseClass(name)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrAllowList, err)
		}
		if c == ClassMassStorage {
			return fmt.Errorf("%w: class %q: mass storage is allowed by registering each medium, not by class", ErrAllowList, name)
		}
	}
	for _, dev := range h.AllowDevices {
		if _, err := media.ParseUSBID(dev); err != nil {
			return fmt.Errorf("%w: device %q (want VID:PID in hex, such as 046d:c52b)", ErrAllowList, dev)
		}
	}
	seen := map[string]bool{}
	for _, p := range h.DevicePins {
		id, err := media.ParseUSBID(p.Device)
		if err != nil {
			return fmt.Errorf("%w: pinned device %q (want VID:PID in hex)", ErrAllowList, p.Device)
		}
		if !media.USBIDListed(h.AllowDevices, id.Vendor, id.Product) {
			return fmt.Errorf("%w: pinned device %s is not an allowed device", ErrAllowList, id)
		}
		if seen[id.String()] {
			return fmt.Errorf("%w: device %s pinned twice", ErrAllowList, id)
		}
		seen[id.String()] = true
		if len(p.Interfaces) == 0 {
			return fmt.Errorf("%w: device %s pinned to no interfaces", ErrAllowList, id)
		}
		if _, err := media.NormInterfaces(p.Interfaces); err != nil {
			return fmt.Errorf("%w: device %s: %w", ErrAllowList, id, err)
		}
		if p.Hash != "" && !isHex(p.Hash, 64) {
			return fmt.Errorf("%w: device %s: descriptor hash %q is not 64 hex digits", ErrAllowList, id, p.Hash)
		}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
