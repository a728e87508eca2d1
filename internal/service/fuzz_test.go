package service_test

import (
	"errors"
	"strings"
	"testing"

	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

// FuzzIdentityFromFields feeds hand-typed or imported identity fields: never a panic,
// and an accepted identity always has a well-formed key and sane extra identity.
func FuzzIdentityFromFields(f *testing.F) {
	f.Add("usb-disk", "4C530001", "0781", "5567", "", "", "", "", int64(0))
	f.Add("disk", "S1", "", "", "0x5000c500a1b2c3d4", "", "", "", int64(1<<30))
	f.Add("disk", "S:1", "", "", "", "Model:X", "", "", int64(0))
	f.Add("sd", "", "", "", "", "", "mmc:1:2:3:4", "", int64(0))
	f.Add("usb-disk", "\x00\xff", "0781", "5567", "", "", "", "AB", int64(-1))
	f.Add("sd", "0x1234ABCD", "", "", "", "", "mmc:000003:5344:SC32G:1234abcd", "", int64(0))
	f.Add("optical-disc", "", "", "", "", "", "disc:v2-udf:"+strings.Repeat("0f", 32), "", int64(0))
	f.Fuzz(func(t *testing.T, kind, serial, vendor, product, wwn, model, key, hash string, capacity int64) {
		id, err := service.IdentityFromFields(service.IdentityFields{Kind: kind, Serial: serial, Vendor: vendor, Product: product,
			WWN: wwn, Model: model, Key: key, DescriptorHash: hash, Capacity: capacity})
		if err != nil {
			if !errors.Is(err, service.ErrBadRequest) {
				t.Fatalf("error %v is not a bad request", err)
			}
			return
		}
		if id.Key == "" || !id.Kind.Valid() || id.Capacity < 0 {
			t.Fatalf("accepted %+v", id)
		}
		if _, _, err := identity.SplitKey(id.Key); err != nil && key == "" {
			t.Fatalf("built a malformed key %q: %v", id.Key, err)
		}
		if id.Kind == media.KindSD && (len(id.Serial) != 10 || !strings.HasPrefix(id.Serial, "0x")) {
			t.Fatalf("an SD card's key accepted with serial %q", id.Serial)
		}
		if id.DescriptorHash != "" && len(id.DescriptorHash) != 64 {
			t.Fatalf("descriptor hash %q", id.DescriptorHash)
		}
	})
}
