package identity

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// USB descriptor types (USB 2.0 §9.4, USB 3.2 §9.6).
const (
	descDevice          = 0x01
	descConfig          = 0x02
	descInterface       = 0x04
	descEndpoint        = 0x05
	descSSEPCompanion   = 0x30
	descSSPIsoCompanion = 0x31
)

// ErrBadDescriptors is returned for descriptor data that does not follow the USB spec.
var ErrBadDescriptors = errors.New("malformed USB descriptors")

// USBDescriptors is what the raw descriptors of a USB device say, parsed from the
// sysfs descriptors file (device descriptor followed by every configuration
// descriptor with its interface, endpoint and class-specific descriptors). The file is
// readable while the device is still unauthorized, so the interface classes are known
// before any driver binds.
type USBDescriptors struct {
	BcdUSB            uint16
	DeviceClass       uint8
	DeviceSubClass    uint8
	DeviceProtocol    uint8
	MaxPacketSize0    uint8
	VendorID          uint16
	ProductID         uint16
	BcdDevice         uint16
	ManufacturerIndex uint8
	ProductIndex      uint8
	SerialIndex       uint8
	NumConfigurations uint8
	Configurations    []USBConfig
	// RawHash is the hex SHA-256 of the raw bytes. It changes with the port's speed.
	RawHash string
	// CanonicalHash is the hex SHA-256 of the speed-independent fields (see canonical).
	CanonicalHash string
}

// USBConfig is one configuration descriptor and its interfaces.
type USBConfig struct {
	Value      uint8
	Attributes uint8
	MaxPower   uint8
	Interfaces []USBInterface
}

// USBInterface is one interface descriptor (one alternate setting).
type USBInterface struct {
	Number    uint8
	Alternate uint8
	Class     uint8
	SubClass  uint8
	Protocol  uint8
	Endpoints []USBEndpoint
	// Extra holds class-specific descriptors (HID, CDC functional, UAS pipe usage …)
	// as type byte + payload, kept for the canonical hash.
	Extra [][]byte
}

// USBEndpoint is one endpoint descriptor.
type USBEndpoint struct {
	Address       uint8
	Attributes    uint8
	MaxPacketSize uint16
	Interval      uint8
}

// InterfaceClass is a (class, subclass, protocol) triple.
type InterfaceClass struct{ Class, SubClass, Protocol uint8 }

// String formats the triple as "08/06/50".
func (c InterfaceClass) String() string {
	return fmt.Sprintf("%02x/%02x/%02x", c.Class, c.SubClass, c.Protocol)
}

// InterfaceClasses returns the distinct interface class triples of every interface and
// alternate setting in every configuration, sorted.
func (d USBDescriptors) InterfaceClasses() []InterfaceClass {
	var out []InterfaceClass
	for _, c := range d.Configurations {
		for _, i := range c.Interfaces {
			ic := InterfaceClass{i.Class, i.SubClass, i.Protocol}
			if !slices.Contains(out, ic) {
				out = append(out, ic)
			}
		}
	}
	slices.SortFunc(out, func(a, b InterfaceClass) int {
		return strings.Compare(a.String(), b.String())
	})
	return out
}

// ParseDescriptors parses the raw sysfs descriptors file. Every length is checked
// against the data; descriptors of unknown type are skipped by their bLength. Data
// after the last complete configuration is an error, as is a configuration whose
// wTotalLength runs past the end.
func ParseDescriptors(raw []byte) (USBDescriptors, error) {
	var d USBDescriptors
	if len(raw) > maxDescriptors {
		return d, fmt.Errorf("usb descriptors: %w (%d bytes)", ErrTooLarge, len(raw))
	}
	if len(raw) < 18 || raw[0] != 18 || raw[1] != descDevice {
		return d, fmt.Errorf("%w: no 18-byte device descriptor at start", ErrBadDescriptors)
	}
	d.BcdUSB = binary.LittleEndian.Uint16(raw[2:])
	d.DeviceClass, d.DeviceSubClass, d.DeviceProtocol = raw[4], raw[5], raw[6]
	d.MaxPacketSize0 = raw[7]
	d.VendorID = binary.LittleEndian.Uint16(raw[8:])
	d.ProductID = binary.LittleEndian.Uint16(raw[10:])
	d.BcdDevice = binary.LittleEndian.Uint16(raw[12:])
	d.ManufacturerIndex, d.ProductIndex, d.SerialIndex = raw[14], raw[15], raw[16]
	d.NumConfigurations = raw[17]

	rest := raw[18:]
	for len(rest) > 0 {
		if len(d.Configurations) >= 32 {
			return d, fmt.Errorf("%w: more than 32 configurations", ErrBadDescriptors)
		}
		if len(rest) < 9 || rest[0] < 9 || rest[1] != descConfig {
			return d, fmt.Errorf("%w: expected configuration descriptor at offset %d", ErrBadDescriptors, len(raw)-len(rest))
		}
		total := int(binary.LittleEndian.Uint16(rest[2:]))
		if total < int(rest[0]) || total > len(rest) {
			return d, fmt.Errorf("%w: configuration wTotalLength %d out of range (%d bytes left)", ErrBadDescriptors, total, len(rest))
		}
		c, err := parseConfig(rest[:total])
		if err != nil {
			return d, fmt.Errorf("%w: configuration at offset %d: %v", ErrBadDescriptors, len(raw)-len(rest), err)
		}
		d.Configurations = append(d.Configurations, c)
		rest = rest[total:]
	}
	sum := sha256.Sum256(raw)
	d.RawHash = hex.EncodeToString(sum[:])
	csum := sha256.Sum256(d.canonical())
	d.CanonicalHash = hex.EncodeToString(csum[:])
	return d, nil
}

func parseConfig(b []byte) (USBConfig, error) {
	c := USBConfig{Value: b[5], Attributes: b[7], MaxPower: b[8]}
	var cur *USBInterface
	for off := int(b[0]); off < len(b); {
		if len(b)-off < 2 {
			return c, fmt.Errorf("truncated descriptor header at %d", off)
		}
		n, typ := int(b[off]), b[off+1]
		if n < 2 || n > len(b)-off {
			return c, fmt.Errorf("descriptor length %d at %d out of range", n, off)
		}
		desc := b[off : off+n]
		switch typ {
		case descInterface:
			if n < 9 {
				return c, fmt.Errorf("short interface descriptor (%d bytes)", n)
			}
			if len(c.Interfaces) >= 256 {
				return c, errors.New("more than 256 interface descriptors")
			}
			c.Interfaces = append(c.Interfaces, USBInterface{
				Number: desc[2], Alternate: desc[3],
				Class: desc[5], SubClass: desc[6], Protocol: desc[7],
			})
			cur = &c.Interfaces[len(c.Interfaces)-1]
		case descEndpoint:
			if n < 7 {
				return c, fmt.Errorf("short endpoint descriptor (%d bytes)", n)
			}
			if cur == nil {
				return c, errors.New("endpoint descriptor before any interface")
			}
			if len(cur.Endpoints) >= 32 {
				return c, errors.New("more than 32 endpoints in one interface")
			}
			cur.Endpoints = append(cur.Endpoints, USBEndpoint{
				Address: desc[2], Attributes: desc[3],
				MaxPacketSize: binary.LittleEndian.Uint16(desc[4:]), Interval: desc[6],
			})
		case descSSEPCompanion, descSSPIsoCompanion:
			// speed-dependent; not part of the canonical form
		default:
			if cur != nil && len(cur.Extra) < 64 {
				cur.Extra = append(cur.Extra, desc[1:])
			}
		}
		off += n
	}
	return c, nil
}

// canonical encodes the fields that do not depend on the speed of the port the device
// is plugged into. A USB 3 stick reports bcdUSB 0x0210, other packet sizes, other power
// units and no SuperSpeed companions on a USB 2 port; its canonical form stays the same.
func (d USBDescriptors) canonical() []byte {
	b := []byte("mediagate-usb-descriptors-v1\x00")
	b = append(b, d.DeviceClass, d.DeviceSubClass, d.DeviceProtocol)
	b = binary.LittleEndian.AppendUint16(b, d.VendorID)
	b = binary.LittleEndian.AppendUint16(b, d.ProductID)
	b = binary.LittleEndian.AppendUint16(b, d.BcdDevice)
	b = append(b, d.ManufacturerIndex, d.ProductIndex, d.SerialIndex, byte(len(d.Configurations)))
	for _, c := range d.Configurations {
		b = append(b, 'C', c.Value, c.Attributes&0x60, byte(len(c.Interfaces)))
		for _, i := range c.Interfaces {
			b = append(b, 'I', i.Number, i.Alternate, i.Class, i.SubClass, i.Protocol, byte(len(i.Endpoints)))
			for _, e := range i.Endpoints {
				b = append(b, 'E', e.Address, e.Attributes&0x3f)
			}
			for _, x := range i.Extra {
				b = append(b, 'X')
				b = binary.LittleEndian.AppendUint16(b, uint16(len(x)))
				b = append(b, x...)
			}
		}
	}
	return b
}
