package policy

import (
	"testing"

	"mediagate/internal/media"
)

func TestIdentityMismatch(t *testing.T) {
	reg := stickIdentity()
	for _, tc := range []struct {
		name string
		reg  func(*media.Identity)
		seen func(*media.Identity)
		want string
	}{
		{name: "same", want: ""},
		{name: "kind", seen: func(s *media.Identity) { s.Kind = media.KindDisk }, want: FieldKind},
		{name: "seen kind unknown", seen: func(s *media.Identity) { s.Kind = "" }, want: ""},
		{name: "key", seen: func(s *media.Identity) { s.Key = "usb:0781:5567:OTHER" }, want: FieldKey},
		{name: "serial", seen: func(s *media.Identity) { s.Serial = "4c530001" }, want: FieldSerial},
		{name: "vendor id case", seen: func(s *media.Identity) { s.VendorID = "0X0781" }, want: ""},
		{name: "vendor id", seen: func(s *media.Identity) { s.VendorID = "0951" }, want: FieldVendorID},
		{name: "product id", seen: func(s *media.Identity) { s.ProductID = "" }, want: FieldProductID},
		{name: "wwn", reg: func(r *media.Identity) { r.WWN = "0x5000c500a1b2c3d4" }, seen: func(s *media.Identity) { s.WWN = "0x5000C500A1B2C3D5" }, want: FieldWWN},
		{name: "wwn case", reg: func(r *media.Identity) { r.WWN = "0x5000c500a1b2c3d4" }, seen: func(s *media.Identity) { s.WWN = "0x5000C500A1B2C3D4" }, want: ""},
		{name: "descriptor hash", seen: func(s *media.Identity) { s.DescriptorHash = "9f2c0b7f" }, want: FieldDescriptorHash},
		{name: "descriptor hash unreadable", seen: func(s *media.Identity) { s.DescriptorHash = "" }, want: FieldDescriptorHash},
		{name: "descriptor hash not registered", reg: func(r *media.Identity) { r.DescriptorHash = "" }, seen: func(s *media.Identity) { s.DescriptorHash = "1234" }, want: ""},
		{name: "capacity", seen: func(s *media.Identity) { s.Capacity++ }, want: FieldCapacity},
		{name: "capacity unknown now", seen: func(s *media.Identity) { s.Capacity = 0 }, want: ""},
		{name: "capacity not registered", reg: func(r *media.Identity) { r.Capacity = 0 }, want: ""},
		{name: "extra HID class", seen: func(s *media.Identity) { s.InterfaceClasses = []int{ClassHID, ClassMassStorage} }, want: FieldInterfaceClasses},
		{name: "class missing", reg: func(r *media.Identity) { r.InterfaceClasses = []int{ClassHID, ClassMassStorage} }, want: FieldInterfaceClasses},
		{name: "classes in other order, repeated", reg: func(r *media.Identity) { r.InterfaceClasses = []int{ClassHID, ClassMassStorage} },
			seen: func(s *media.Identity) { s.InterfaceClasses = []int{ClassMassStorage, ClassHID, ClassMassStorage} }, want: ""},
		{name: "no registered classes, plain storage", reg: func(r *media.Identity) { r.InterfaceClasses = nil }, want: ""},
		{name: "no registered classes, extra class", reg: func(r *media.Identity) { r.InterfaceClasses = nil },
			seen: func(s *media.Identity) { s.InterfaceClasses = []int{ClassMassStorage, ClassWireless} }, want: FieldInterfaceClasses},
		{name: "descriptor hash reported before classes", seen: func(s *media.Identity) {
			s.DescriptorHash = "00"
			s.InterfaceClasses = []int{ClassHID, ClassMassStorage}
		}, want: FieldDescriptorHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s := reg, stickIdentity()
			r.InterfaceClasses = append([]int(nil), reg.InterfaceClasses...)
			if tc.reg != nil {
				tc.reg(&r)
			}
			if tc.seen != nil {
				tc.seen(&s)
			}
			if got := IdentityMismatch(r, s); got != tc.want {
				t.Errorf("IdentityMismatch = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestConfirmIdentity is the table both the daemon and the check-in rely on: a device
// is confirmed only when nothing differs and everything bound was compared.
func TestConfirmIdentity(t *testing.T) {
	reg := stickIdentity()
	weak := media.Identity{Kind: media.KindUSBDisk, Key: "usb:090c:1000:0123456789ABCDEF", Serial: "0123456789ABCDEF",
		VendorID: "090c", ProductID: "1000", Capacity: 16 << 30, DescriptorHash: "aa"}
	with := func(id media.Identity, f func(*media.Identity)) media.Identity {
		id.InterfaceClasses = append([]int(nil), id.InterfaceClasses...)
		f(&id)
		return id
	}
	for _, tc := range []struct {
		name      string
		reg, seen media.Identity
		mismatch  string
		pending   bool
	}{
		{"same", reg, reg, "", false},
		{"stick now also presents a wireless interface", with(reg, func(r *media.Identity) { r.InterfaceClasses = nil }),
			with(reg, func(s *media.Identity) { s.InterfaceClasses = []int{ClassMassStorage, ClassWireless} }), FieldInterfaceClasses, false},
		{"clone: registered serial, capacity not known yet", reg, with(reg, func(s *media.Identity) { s.Capacity = 0 }), "", true},
		{"clone: registered serial, other capacity", reg, with(reg, func(s *media.Identity) { s.Capacity = 8 << 30 }), FieldCapacity, false},
		{"weak serial, all seen", weak, weak, "", false},
		{"weak serial, capacity not yet", weak, with(weak, func(s *media.Identity) { s.Capacity = 0 }), "", true},
		{"weak serial, descriptors unreadable", weak, with(weak, func(s *media.Identity) { s.DescriptorHash = "" }), FieldDescriptorHash, false},
		{"other key", reg, with(reg, func(s *media.Identity) { s.Key = "usb:0781:5567:X" }), FieldKey, false},
		{"no capacity registered", with(reg, func(r *media.Identity) { r.Capacity = 0 }), with(reg, func(s *media.Identity) { s.Capacity = 0 }), "", false},
		{"disc", media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:ab"}, media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:ab"}, "", false},
		{"disc, other content", media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:ab"}, media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:cd"}, FieldKey, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, p := ConfirmIdentity(tc.reg, tc.seen)
			if m != tc.mismatch || p != tc.pending {
				t.Errorf("ConfirmIdentity = %q, pending %v; want %q, pending %v", m, p, tc.mismatch, tc.pending)
			}
		})
	}
}
