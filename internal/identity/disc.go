package identity

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
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

// ErrNoDiscKey is returned by DiscSignature when no sample key (or one shorter than
// MinDiscKeySize bytes) is given: the whole-disc identity cannot be computed.
var ErrNoDiscKey = errors.New("no disc sample key")

// ErrMalformedDisc is wrapped by DiscSignature errors about a directory tree or extent
// that a well-formed disc cannot have (a loop, a record crossing a sector, an extent
// beyond the volume, a tree beyond the bounds below). Such a disc has no identity.
var ErrMalformedDisc = errors.New("malformed disc")

// Bounds of the work DiscSignature does on one disc. A disc beyond them has no
// identity (it is blocked); they are far above what a burned CD, DVD or BD holds.
const (
	// DiscSamples is how many 2048-byte blocks of the volume the identity samples.
	DiscSamples = 64
	// MinDiscKeySize is the shortest sample key DiscSignature accepts.
	MinDiscKeySize = 16

	maxDirDepth   = 64       // directory nesting (ISO 9660 allows 8; Rock Ridge trees go deeper)
	maxDirs       = 1 << 17  // directories over all trees of one disc
	maxDirRecords = 1 << 21  // directory records over all trees
	maxDirBytes   = 64 << 20 // bytes of directory extents read over all trees
	maxVRSSectors = 32       // volume recognition sequence sectors read from sector 16
)

// Disc is the content identity of an optical disc.
type Disc struct {
	Format DiscFormat `json:"format"`
	// Signature is the whole-disc identity (key version 2), hex HMAC-SHA256 under the
	// register's sample key of: every volume descriptor; for ISO 9660 every directory
	// extent of every directory tree (primary, Joliet and other supplementary
	// volume descriptors) as recorded on the disc, so every name, size, extent, date
	// and Rock Ridge entry; and DiscSamples blocks of the volume at positions derived
	// from the sample key and the tree. Empty for blank, audio and unknown discs.
	Signature string `json:"signature,omitempty"`
	// LegacySignature is the version 1 signature that earlier registrations hold: the
	// hex SHA-256 of the primary volume descriptor followed by the volume space size
	// as 8 little-endian bytes (ISO 9660), or of the anchor volume descriptor pointer
	// followed by the UDF primary volume descriptor (UDF). It proves nothing about the
	// files; it is only used to find an old registration and upgrade it.
	LegacySignature string `json:"legacy_signature,omitempty"`
	Label           string `json:"label,omitempty"`  // volume identifier, trimmed, printable only
	Blocks          int64  `json:"blocks,omitempty"` // volume space size in 2048-byte blocks (ISO 9660)
	// Directories and Records count what the tree walk covered (ISO 9660 trees; a UDF
	// disc without an ISO 9660 bridge has no tree walk, see docs/security.md).
	Directories int `json:"directories,omitempty"`
	Records     int `json:"records,omitempty"`
	// Sampled is the number of volume blocks the sample range holds.
	Sampled int64 `json:"sampled_range,omitempty"`
}

// Key returns the registry key of the disc, "disc:v2-iso9660:<hmac>" or
// "disc:v2-udf:<hmac>", or "" when the disc has no signature.
func (d Disc) Key() string {
	if d.Signature == "" {
		return ""
	}
	return "disc:v2-" + string(d.Format) + ":" + d.Signature
}

// LegacyKey returns the version 1 key, "disc:iso9660:<sha256>" or "disc:udf:<sha256>",
// that registrations made before the whole-disc identity hold; "" when none.
func (d Disc) LegacyKey() string {
	if d.LegacySignature == "" {
		return ""
	}
	return "disc:" + string(d.Format) + ":" + d.LegacySignature
}

// IsLegacyDiscKey reports whether key is a version 1 disc key.
func IsLegacyDiscKey(key string) bool {
	return strings.HasPrefix(key, "disc:iso9660:") || strings.HasPrefix(key, "disc:udf:")
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

// DiscSignature reads a disc image or optical block device through r (size bytes long;
// pass a negative size when unknown) and computes its identity under the sample key
// (at least MinDiscKeySize bytes; see Disc.Signature). UDF is preferred as the format
// when both a UDF and an ISO 9660 volume are present (UDF bridge discs such as
// DVD-Video); the ISO 9660 trees of a bridge disc are covered as well. An empty or
// all-zero disc gives Format DiscBlank; a disc with data but no recognised descriptor
// gives ErrNoVolume. Without a key the Disc carries only the legacy signature and the
// error is ErrNoDiscKey. A disc whose tree or extents are malformed or beyond the
// bounds above gives an error wrapping ErrMalformedDisc. The work is bounded: the
// descriptors, the directory extents (at most maxDirBytes) and DiscSamples blocks.
func DiscSignature(r io.ReaderAt, size int64, key []byte) (Disc, error) {
	if size == 0 {
		return Disc{Format: DiscBlank}, nil
	}
	vrs, err := readVRS(r)
	if err != nil {
		return Disc{}, err
	}
	var d Disc
	var udf *udfVolume
	if vrs.nsr {
		udf = readUDF(r)
	}
	switch {
	case udf != nil:
		h := sha256.New()
		h.Write(udf.anchor)
		h.Write(udf.pvd)
		d = Disc{Format: DiscUDF, LegacySignature: hex.EncodeToString(h.Sum(nil)), Label: udfDString(udf.pvd[24:56])}
	case vrs.pvd != nil:
		blocks := int64(binary.LittleEndian.Uint32(vrs.pvd[80:]))
		h := sha256.New()
		h.Write(vrs.pvd)
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(blocks)))
		d = Disc{Format: DiscISO9660, LegacySignature: hex.EncodeToString(h.Sum(nil)),
			Label: cleanLabel(vrs.pvd[40:72]), Blocks: blocks}
	case vrs.blank:
		return Disc{Format: DiscBlank}, nil
	default:
		return Disc{Format: DiscUnknown}, ErrNoVolume
	}
	if len(key) < MinDiscKeySize {
		return d, ErrNoDiscKey
	}

	// The range the sample is drawn from: the ISO 9660 volume space, or the end of
	// the last UDF partition, whichever is larger (a UDF bridge disc has both). It
	// must lie on the disc.
	var isoBlocks, limit int64
	if vrs.pvd != nil {
		isoBlocks = int64(binary.LittleEndian.Uint32(vrs.pvd[80:]))
	}
	limit = isoBlocks
	if udf != nil {
		limit = max(limit, udf.end)
	}
	if limit <= 0 {
		return d, fmt.Errorf("%w: empty volume space", ErrMalformedDisc)
	}
	if size > 0 && limit > size/sectorSize {
		return d, fmt.Errorf("%w: volume of %d blocks on a disc of %d", ErrMalformedDisc, limit, size/sectorSize)
	}

	tree := sha256.New()
	tree.Write([]byte("mediagate disc tree v2\x00" + string(d.Format) + "\x00"))
	for _, s := range vrs.sectors {
		tree.Write(s)
	}
	if udf != nil {
		tree.Write(udf.anchor)
		for _, s := range udf.vds {
			tree.Write(s)
		}
	}
	w := &treeWalk{r: r, h: tree, volume: isoBlocks}
	for _, vd := range vrs.sectors {
		if string(vd[1:6]) == "CD001" && (vd[0] == 1 || vd[0] == 2) && validBothEndian32(vd[80:88]) {
			if err := w.walk(vd); err != nil {
				return d, err
			}
		}
	}
	d.Directories, d.Records, d.Sampled = w.dirs, w.records, limit
	treeSum := tree.Sum(nil)

	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("mediagate disc identity v2\x00"))
	mac.Write(treeSum)
	buf := make([]byte, sectorSize)
	for _, pos := range samplePositions(key, treeSum, limit, DiscSamples) {
		if n, err := r.ReadAt(buf, pos*sectorSize); n < sectorSize {
			return d, fmt.Errorf("read sampled block %d: %w", pos, cmpErr(err))
		}
		mac.Write(binary.BigEndian.AppendUint64(nil, uint64(pos)))
		mac.Write(buf)
	}
	d.Signature = hex.EncodeToString(mac.Sum(nil))
	return d, nil
}

// cmpErr turns a short read without an error into io.ErrUnexpectedEOF.
func cmpErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// samplePositions draws n block numbers in [0, limit) from HMAC-SHA256(key, "sample",
// tree, i): without the key nobody can tell which blocks a disc's identity covers,
// and the positions differ from disc to disc. They are returned in ascending order,
// so that a drive reads them in one sweep.
func samplePositions(key, tree []byte, limit int64, n int) []int64 {
	out := make([]int64, 0, n)
	mac := hmac.New(sha256.New, key)
	for i := range n {
		mac.Reset()
		mac.Write([]byte("mediagate disc sample v2\x00"))
		mac.Write(tree)
		mac.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
		out = append(out, int64(binary.BigEndian.Uint64(mac.Sum(nil))%uint64(limit)))
	}
	slices.Sort(out)
	return out
}

// treeWalk hashes the directory trees of the ISO 9660 volume descriptors of one disc,
// within the bounds above.
type treeWalk struct {
	r       io.ReaderAt
	h       hash.Hash
	volume  int64 // volume space size in blocks; every extent must end within it
	dirs    int
	records int
	bytes   int64
	buf     []byte
}

// dirRef is a directory still to be read.
type dirRef struct {
	loc, size uint32
	depth     int
}

// walk hashes every directory extent of the tree rooted at the volume descriptor vd
// (primary or supplementary), depth first in record order. A directory whose extent
// was already reached in this tree (a loop to an ancestor, or two records sharing a
// directory) is an error.
func (w *treeWalk) walk(vd []byte) error {
	if bs := binary.LittleEndian.Uint16(vd[128:]); bs != sectorSize {
		return fmt.Errorf("%w: logical block size %d", ErrMalformedDisc, bs)
	}
	root, err := w.record(vd[156:190], 0)
	if err != nil {
		return fmt.Errorf("root directory record: %w", err)
	}
	if !root.dir {
		return fmt.Errorf("%w: root record is not a directory", ErrMalformedDisc)
	}
	visited := map[uint32]bool{}
	stack := []dirRef{{loc: root.loc, size: root.size}}
	for len(stack) > 0 {
		ref := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if visited[ref.loc] {
			return fmt.Errorf("%w: directory at block %d reached twice (a loop)", ErrMalformedDisc, ref.loc)
		}
		visited[ref.loc] = true
		children, err := w.dir(ref)
		if err != nil {
			return err
		}
		for i := len(children) - 1; i >= 0; i-- {
			stack = append(stack, children[i])
		}
	}
	return nil
}

// dir reads and hashes one directory extent and returns its subdirectories.
func (w *treeWalk) dir(ref dirRef) ([]dirRef, error) {
	w.dirs++
	if w.dirs > maxDirs {
		return nil, fmt.Errorf("%w: more than %d directories", ErrMalformedDisc, maxDirs)
	}
	w.bytes += int64(ref.size)
	if w.bytes > maxDirBytes {
		return nil, fmt.Errorf("%w: more than %d bytes of directories", ErrMalformedDisc, maxDirBytes)
	}
	var hdr [12]byte
	binary.BigEndian.PutUint32(hdr[0:], ref.loc)
	binary.BigEndian.PutUint32(hdr[4:], ref.size)
	binary.BigEndian.PutUint32(hdr[8:], uint32(ref.depth))
	w.h.Write(hdr[:])
	if w.buf == nil {
		w.buf = make([]byte, 32*sectorSize)
	}
	var children []dirRef
	for off := int64(0); off < int64(ref.size); off += int64(len(w.buf)) {
		chunk := w.buf[:min(int64(len(w.buf)), roundUp(int64(ref.size)-off))]
		if n, err := w.r.ReadAt(chunk, int64(ref.loc)*sectorSize+off); n < len(chunk) {
			return nil, fmt.Errorf("read directory at block %d: %w", ref.loc, cmpErr(err))
		}
		used := min(int64(len(chunk)), int64(ref.size)-off)
		w.h.Write(chunk[:used])
		for s := int64(0); s < used; s += sectorSize {
			sector := chunk[s:min(s+sectorSize, used)]
			for p := 0; p < len(sector); {
				l := int(sector[p])
				if l == 0 {
					break // the rest of the sector is padding
				}
				if p+l > len(sector) {
					return nil, fmt.Errorf("%w: directory record at block %d crosses a sector", ErrMalformedDisc, ref.loc)
				}
				rec, err := w.record(sector[p:p+l], ref.depth)
				if err != nil {
					return nil, fmt.Errorf("directory at block %d: %w", ref.loc, err)
				}
				p += l
				if rec.self {
					continue
				}
				w.records++
				if w.records > maxDirRecords {
					return nil, fmt.Errorf("%w: more than %d directory records", ErrMalformedDisc, maxDirRecords)
				}
				if rec.dir {
					if ref.depth+1 > maxDirDepth {
						return nil, fmt.Errorf("%w: directories nested deeper than %d", ErrMalformedDisc, maxDirDepth)
					}
					children = append(children, dirRef{loc: rec.loc, size: rec.size, depth: ref.depth + 1})
				}
			}
		}
	}
	return children, nil
}

func roundUp(n int64) int64 { return (n + sectorSize - 1) / sectorSize * sectorSize }

// dirRecord is what the walk needs of a directory record (ECMA-119 9.1).
type dirRecord struct {
	loc, size uint32
	dir       bool
	self      bool // the "." or ".." record
}

// record checks one directory record: its length, the both-byte-order extent and
// size fields, and that its extent lies within the volume.
func (w *treeWalk) record(b []byte, depth int) (dirRecord, error) {
	if len(b) < 34 || int(b[0]) != len(b) {
		return dirRecord{}, fmt.Errorf("%w: directory record of %d bytes", ErrMalformedDisc, len(b))
	}
	nameLen := int(b[32])
	if nameLen == 0 || 33+nameLen > len(b) {
		return dirRecord{}, fmt.Errorf("%w: directory record name of %d bytes in a record of %d", ErrMalformedDisc, nameLen, len(b))
	}
	if !validBothEndian32(b[2:10]) || !validBothEndian32(b[10:18]) {
		return dirRecord{}, fmt.Errorf("%w: directory record with inconsistent extent or size", ErrMalformedDisc)
	}
	rec := dirRecord{
		loc:  binary.LittleEndian.Uint32(b[2:]),
		size: binary.LittleEndian.Uint32(b[10:]),
		dir:  b[25]&0x02 != 0,
		self: nameLen == 1 && (b[33] == 0 || b[33] == 1),
	}
	if rec.size > 0 && int64(rec.loc)+roundUp(int64(rec.size))/sectorSize > w.volume {
		return dirRecord{}, fmt.Errorf("%w: extent at block %d (%d bytes) beyond the volume of %d blocks", ErrMalformedDisc, rec.loc, rec.size, w.volume)
	}
	if rec.dir && !rec.self && rec.size == 0 {
		return dirRecord{}, fmt.Errorf("%w: empty directory extent at block %d", ErrMalformedDisc, rec.loc)
	}
	return rec, nil
}

// vrsInfo is what the volume recognition sequence holds.
type vrsInfo struct {
	pvd     []byte   // the first valid ISO 9660 primary volume descriptor
	sectors [][]byte // every recognised descriptor sector, in order
	nsr     bool     // a UDF NSR descriptor was seen
	blank   bool     // EOF or zeros at sector 16
}

// readVRS walks the volume recognition sequence from sector 16.
func readVRS(r io.ReaderAt) (vrsInfo, error) {
	var v vrsInfo
	for i := int64(0); i < maxVRSSectors; i++ {
		buf := make([]byte, sectorSize)
		n, rerr := r.ReadAt(buf, (16+i)*sectorSize)
		if n < sectorSize {
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				return vrsInfo{}, fmt.Errorf("read sector %d: %w", 16+i, rerr)
			}
			v.blank = i == 0
			return v, nil
		}
		id := string(buf[1:6])
		switch id {
		case "CD001":
			if buf[0] == 1 && buf[6] == 1 && v.pvd == nil && validBothEndian32(buf[80:88]) {
				v.pvd = buf
			}
		case "NSR02", "NSR03":
			v.nsr = true
		case "BEA01", "TEA01", "BOOT2", "CDW02":
		default:
			if i == 0 && bytes.Count(buf, []byte{0}) == len(buf) {
				v.blank = true
			}
			return v, nil
		}
		v.sectors = append(v.sectors, buf)
	}
	return v, nil
}

// validBothEndian32 checks an ISO 9660 both-byte-order 32-bit field.
func validBothEndian32(b []byte) bool {
	return binary.LittleEndian.Uint32(b) == binary.BigEndian.Uint32(b[4:])
}

// udfVolume is what DiscSignature uses of a UDF volume.
type udfVolume struct {
	anchor []byte   // anchor volume descriptor pointer (sector 256)
	pvd    []byte   // primary volume descriptor
	vds    [][]byte // the main volume descriptor sequence up to its terminator
	end    int64    // first block after the last partition
}

// readUDF reads the anchor volume descriptor pointer at sector 256 and the main volume
// descriptor sequence it points to (at most 32 sectors): the primary volume descriptor
// and the partition descriptors. nil when there is no valid anchor or no primary
// volume descriptor.
func readUDF(r io.ReaderAt) *udfVolume {
	anchor := make([]byte, sectorSize)
	if n, _ := r.ReadAt(anchor, 256*sectorSize); n < sectorSize || !validUDFTag(anchor, 2, 256) {
		return nil
	}
	u := &udfVolume{anchor: anchor}
	length := binary.LittleEndian.Uint32(anchor[16:])
	loc := binary.LittleEndian.Uint32(anchor[20:])
	sectors := min(length/sectorSize, 32)
vds:
	for i := range sectors {
		at := loc + i
		buf := make([]byte, sectorSize)
		if n, _ := r.ReadAt(buf, int64(at)*sectorSize); n < sectorSize || !validUDFTag(buf, 0, at) {
			break
		}
		u.vds = append(u.vds, buf)
		switch binary.LittleEndian.Uint16(buf) {
		case 1: // primary volume descriptor
			if u.pvd == nil {
				u.pvd = buf
			}
		case 5: // partition descriptor: starting location at 188, length at 192
			end := int64(binary.LittleEndian.Uint32(buf[188:])) + int64(binary.LittleEndian.Uint32(buf[192:]))
			u.end = max(u.end, end)
		case 8: // terminating descriptor
			break vds
		}
	}
	if u.pvd == nil {
		return nil
	}
	return u
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
