package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DiscFormat says what is on an optical disc.
type DiscFormat string

const (
	DiscISO9660 DiscFormat = "iso9660" // data disc with an ISO 9660 primary volume descriptor
	DiscUDF     DiscFormat = "udf"     // data disc with a UDF anchor and primary volume descriptor
	DiscBlank   DiscFormat = "blank"   // writable disc with nothing on it
	DiscAudio   DiscFormat = "audio"   // audio tracks only; no file system to sign
	DiscUnknown DiscFormat = "unknown" // media present but no volume descriptor found
)

const sectorSize = 2048

// ErrNoVolume is returned by DiscSignature when neither an ISO 9660 nor a UDF volume
// is found.
var ErrNoVolume = errors.New("no ISO 9660 or UDF volume descriptors")

// Disc is the content signature of an optical disc.
type Disc struct {
	Format DiscFormat `json:"format"`
	// Signature is the hex SHA-256 of the primary volume descriptor (2048 bytes)
	// followed by the volume space size as 8 little-endian bytes (ISO 9660), or of the
	// anchor volume descriptor pointer sector followed by the UDF primary volume
	// descriptor sector (UDF). Empty for blank, audio and unknown discs.
	Signature string `json:"signature,omitempty"`
	Label     string `json:"label,omitempty"`  // volume identifier, trimmed, printable only
	Blocks    int64  `json:"blocks,omitempty"` // volume space size in 2048-byte blocks (ISO 9660)
}

// Key returns the registry key of the disc, "disc:iso9660:<sha256>" or
// "disc:udf:<sha256>", or "" when the disc has no signature.
func (d Disc) Key() string {
	if d.Signature == "" {
		return ""
	}
	return "disc:" + string(d.Format) + ":" + d.Signature
}

// DiscFromProperties recognises blank and audio-only discs from udev's cdrom_id
// properties, which read the table of contents; it returns ok=false when the
// properties say the disc has data to sign (or say nothing).
func DiscFromProperties(props map[string]string) (Disc, bool) {
	if props["ID_CDROM_MEDIA_STATE"] == "blank" {
		return Disc{Format: DiscBlank}, true
	}
	audio, _ := strconv.Atoi(props["ID_CDROM_MEDIA_TRACK_COUNT_AUDIO"])
	data, _ := strconv.Atoi(props["ID_CDROM_MEDIA_TRACK_COUNT_DATA"])
	if audio > 0 && data == 0 {
		return Disc{Format: DiscAudio}, true
	}
	return Disc{}, false
}

// DiscSignature reads the volume descriptors of a disc image or optical block device
// through r (size bytes long; pass a negative size when unknown) and computes its
// content signature. UDF is preferred when both a UDF and an ISO 9660 volume are
// present (UDF bridge discs such as DVD-Video). An empty or all-zero disc gives
// Format DiscBlank; a disc with data but no recognised descriptor gives ErrNoVolume.
// It reads at most about 70 sectors.
func DiscSignature(r io.ReaderAt, size int64) (Disc, error) {
	if size == 0 {
		return Disc{Format: DiscBlank}, nil
	}
	isoPVD, nsr, blank, err := readVRS(r)
	if err != nil {
		return Disc{}, err
	}
	if nsr {
		if d, ok := readUDF(r); ok {
			return d, nil
		}
	}
	if isoPVD != nil {
		blocks := int64(binary.LittleEndian.Uint32(isoPVD[80:]))
		h := sha256.New()
		h.Write(isoPVD)
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(blocks)))
		return Disc{
			Format:    DiscISO9660,
			Signature: hex.EncodeToString(h.Sum(nil)),
			Label:     cleanLabel(isoPVD[40:72]),
			Blocks:    blocks,
		}, nil
	}
	if blank {
		return Disc{Format: DiscBlank}, nil
	}
	return Disc{Format: DiscUnknown}, ErrNoVolume
}

// readVRS walks the volume recognition sequence from sector 16. It returns the first
// valid ISO 9660 primary volume descriptor, whether an NSR (UDF) descriptor was seen,
// and whether the area was empty (EOF or zeros at sector 16).
func readVRS(r io.ReaderAt) (pvd []byte, nsr, blank bool, err error) {
	buf := make([]byte, sectorSize)
	for i := int64(0); i < 32; i++ {
		n, rerr := r.ReadAt(buf, (16+i)*sectorSize)
		if n < sectorSize {
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				return nil, false, false, fmt.Errorf("read sector %d: %w", 16+i, rerr)
			}
			return pvd, nsr, i == 0, nil
		}
		id := string(buf[1:6])
		switch id {
		case "CD001":
			if buf[0] == 1 && buf[6] == 1 && pvd == nil && validBothEndian32(buf[80:88]) {
				pvd = bytes.Clone(buf)
			}
			if buf[0] == 255 { // set terminator; a UDF NSR may still follow
				continue
			}
		case "NSR02", "NSR03":
			nsr = true
		case "BEA01", "TEA01", "BOOT2", "CDW02":
		default:
			if i == 0 && bytes.Count(buf, []byte{0}) == len(buf) {
				return nil, false, true, nil
			}
			return pvd, nsr, false, nil
		}
	}
	return pvd, nsr, false, nil
}

// validBothEndian32 checks an ISO 9660 both-byte-order 32-bit field.
func validBothEndian32(b []byte) bool {
	return binary.LittleEndian.Uint32(b) == binary.BigEndian.Uint32(b[4:])
}

// readUDF reads the anchor volume descriptor pointer at sector 256 and the primary
// volume descriptor from the main volume descriptor sequence.
func readUDF(r io.ReaderAt) (Disc, bool) {
	anchor := make([]byte, sectorSize)
	if n, _ := r.ReadAt(anchor, 256*sectorSize); n < sectorSize || !validUDFTag(anchor, 2, 256) {
		return Disc{}, false
	}
	length := binary.LittleEndian.Uint32(anchor[16:])
	loc := binary.LittleEndian.Uint32(anchor[20:])
	sectors := min(length/sectorSize, 32)
	buf := make([]byte, sectorSize)
	for i := range sectors {
		at := loc + i
		if n, _ := r.ReadAt(buf, int64(at)*sectorSize); n < sectorSize {
			return Disc{}, false
		}
		if !validUDFTag(buf, 0, at) {
			return Disc{}, false
		}
		switch binary.LittleEndian.Uint16(buf) {
		case 1: // primary volume descriptor
			h := sha256.New()
			h.Write(anchor)
			h.Write(buf)
			return Disc{
				Format:    DiscUDF,
				Signature: hex.EncodeToString(h.Sum(nil)),
				Label:     udfDString(buf[24:56]),
			}, true
		case 8: // terminating descriptor
			return Disc{}, false
		}
	}
	return Disc{}, false
}

// validUDFTag checks a UDF descriptor tag (ECMA-167 3/7.2): the checksum, the
// identifier (when want is not 0) and the recorded location.
func validUDFTag(b []byte, want uint16, location uint32) bool {
	var sum byte
	for i := range 16 {
		if i != 4 {
			sum += b[i]
		}
	}
	if sum != b[4] {
		return false
	}
	if want != 0 && binary.LittleEndian.Uint16(b) != want {
		return false
	}
	return binary.LittleEndian.Uint32(b[12:]) == location
}

// udfDString decodes a dstring (OSTA CS0): compression ID 8 (Latin-1) or 16 (UTF-16BE),
// with the used length in the last byte.
func udfDString(b []byte) string {
	n := int(b[len(b)-1])
	if n == 0 || n > len(b)-1 {
		return ""
	}
	s := b[1:n]
	var out []rune
	switch b[0] {
	case 8:
		for _, c := range s {
			out = append(out, rune(c))
		}
	case 16:
		for i := 0; i+1 < len(s); i += 2 {
			out = append(out, rune(binary.BigEndian.Uint16(s[i:])))
		}
	}
	return cleanLabel([]byte(string(out)))
}

// cleanLabel keeps printable characters of a volume label and trims padding.
func cleanLabel(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, string(b))
	return strings.TrimSpace(s)
}
