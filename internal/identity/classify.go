package identity

import (
	"fmt"
	"slices"
)

// ClassName names a USB base class code in the words hosts use for their allowances
// (media.Host.AllowClasses): "storage", "hub", "hid", "audio", "video", "network"-ish
// communications, "vendor-specific" … Unknown codes are "class-0xNN".
func ClassName(code uint8) string {
	switch code {
	case 0x01:
		return "audio"
	case 0x02:
		return "communications"
	case 0x03:
		return "hid"
	case 0x05:
		return "physical"
	case 0x06:
		return "image"
	case 0x07:
		return "printer"
	case 0x08:
		return "storage"
	case 0x09:
		return "hub"
	case 0x0a:
		return "cdc-data"
	case 0x0b:
		return "smart-card"
	case 0x0d:
		return "content-security"
	case 0x0e:
		return "video"
	case 0x0f:
		return "personal-healthcare"
	case 0x10:
		return "audio-video"
	case 0x11:
		return "billboard"
	case 0x12:
		return "usb-c-bridge"
	case 0xdc:
		return "diagnostic"
	case 0xe0:
		return "wireless"
	case 0xef:
		return "miscellaneous"
	case 0xfe:
		return "application-specific"
	case 0xff:
		return "vendor-specific"
	}
	return fmt.Sprintf("class-0x%02x", code)
}

// Function names what a USB device can do, derived from its interface classes. A
// device has one or more functions; a stick that also presents a keyboard has both
// FuncStorage and FuncKeyboard.
type Function string

const (
	FuncStorage        Function = "storage"         // mass storage (08)
	FuncKeyboard       Function = "keyboard"        // HID boot keyboard (03/01/01)
	FuncMouse          Function = "mouse"           // HID boot mouse (03/01/02)
	FuncHID            Function = "hid"             // other HID (03)
	FuncNetwork        Function = "network"         // CDC ECM/NCM/EEM/MBIM, RNDIS
	FuncSerial         Function = "serial"          // CDC ACM modem/serial port
	FuncMTP            Function = "mtp"             // still image PTP/MTP (06/01/01): phones, cameras
	FuncHub            Function = "hub"             // 09
	FuncAudio          Function = "audio"           // 01
	FuncVideo          Function = "video"           // 0e
	FuncWireless       Function = "wireless"        // e0: Bluetooth and other radios
	FuncPrinter        Function = "printer"         // 07
	FuncSmartCard      Function = "smart-card"      // 0b
	FuncVendorSpecific Function = "vendor-specific" // ff
	FuncOther          Function = "other"
)

// Functions derives the device's functions from its device class and interface
// classes (all configurations and alternate settings), sorted and distinct. Vendor-
// specific interfaces are reported as such: an MTP phone that uses a vendor-specific
// interface instead of 06/01/01 is not recognisable from its descriptors alone.
func Functions(deviceClass uint8, ifaces []InterfaceClass) []Function {
	var out []Function
	add := func(f Function) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if deviceClass == 0x09 {
		add(FuncHub)
	}
	for _, c := range ifaces {
		switch c.Class {
		case 0x08:
			add(FuncStorage)
		case 0x03:
			switch {
			case c.SubClass == 1 && c.Protocol == 1:
				add(FuncKeyboard)
			case c.SubClass == 1 && c.Protocol == 2:
				add(FuncMouse)
			default:
				add(FuncHID)
			}
		case 0x02:
			switch c.SubClass {
			case 0x02:
				if c.Protocol == 0xff { // vendor protocol over ACM: RNDIS on some phones
					add(FuncNetwork)
				} else {
					add(FuncSerial)
				}
			case 0x06, 0x07, 0x0c, 0x0d, 0x0e: // ECM, ATM, EEM, NCM, MBIM
				add(FuncNetwork)
			default:
				add(FuncOther)
			}
		case 0x0a:
			// data interface of a CDC function; the control interface names it
		case 0x06:
			add(FuncMTP)
		case 0x09:
			add(FuncHub)
		case 0x01:
			add(FuncAudio)
		case 0x0e:
			add(FuncVideo)
		case 0x10:
			add(FuncAudio)
			add(FuncVideo)
		case 0xe0:
			if c.SubClass == 0x01 && c.Protocol == 0x03 {
				add(FuncNetwork) // RNDIS
			} else {
				add(FuncWireless)
			}
		case 0xef:
			if c.SubClass == 0x04 && c.Protocol == 0x01 {
				add(FuncNetwork) // RNDIS over miscellaneous class
			} else {
				add(FuncOther)
			}
		case 0x07:
			add(FuncPrinter)
		case 0x0b:
			add(FuncSmartCard)
		case 0xff:
			add(FuncVendorSpecific)
		default:
			add(FuncOther)
		}
	}
	slices.Sort(out)
	return out
}

// classCodes returns the distinct interface base class codes, sorted, as
// media.Identity.InterfaceClasses stores them.
func classCodes(ifaces []InterfaceClass) []int {
	var out []int
	for _, c := range ifaces {
		if !slices.Contains(out, int(c.Class)) {
			out = append(out, int(c.Class))
		}
	}
	slices.Sort(out)
	return out
}
