package identity

import (
	"encoding/binary"
)

// isoTestSectors is the size, in 2048-byte sectors, of the ISO image the optical
// fixtures get as their /dev/sr0.
const isoTestSectors = 40

// buildISO returns a minimal ISO 9660 image: 16 empty system sectors, a primary
// volume descriptor (ECMA-119 8.4) and a set terminator, padded to blocks sectors.
func buildISO(label string, blocks int) []byte {
	img := make([]byte, blocks*sectorSize)
	pvd := img[16*sectorSize:]
	pvd[0] = 1
	copy(pvd[1:], "CD001")
	pvd[6] = 1
	copy(pvd[8:40], pad("LINUX", 32))
	copy(pvd[40:72], pad(label, 32))
	bothEndian32(pvd[80:], uint32(blocks))
	bothEndian16(pvd[120:], 1)
	bothEndian16(pvd[124:], 1)
	bothEndian16(pvd[128:], sectorSize)
	bothEndian32(pvd[132:], 10)
	binary.LittleEndian.PutUint32(pvd[140:], 18)
	binary.BigEndian.PutUint32(pvd[148:], 19)
	root := pvd[156:190]
	root[0] = 34
	bothEndian32(root[2:], 20)
	bothEndian32(root[10:], sectorSize)
	root[25] = 2
	bothEndian16(root[28:], 1)
	root[32] = 1
	copy(pvd[190:318], pad("", 128))
	copy(pvd[813:830], "2026112912000000\x00")
	copy(pvd[830:847], "2026112912000000\x00")
	copy(pvd[847:864], "0000000000000000\x00")
	copy(pvd[864:881], "0000000000000000\x00")
	pvd[881] = 1
	term := img[17*sectorSize:]
	term[0] = 255
	copy(term[1:], "CD001")
	term[6] = 1
	return img
}

// buildUDF returns a minimal UDF image: a volume recognition sequence (BEA01, NSR02,
// TEA01), a main volume descriptor sequence at sector 32 with a primary volume
// descriptor, a partition descriptor (blocks 257 to 259) and a terminator, and the
// anchor at sector 256.
func buildUDF(label string) []byte {
	img := make([]byte, 260*sectorSize)
	for i, id := range []string{"BEA01", "NSR02", "TEA01"} {
		s := img[(16+i)*sectorSize:]
		copy(s[1:], id)
		s[6] = 1
	}
	anchor := img[256*sectorSize:]
	binary.LittleEndian.PutUint32(anchor[16:], 16*sectorSize)
	binary.LittleEndian.PutUint32(anchor[20:], 32)
	udfTag(anchor, 2, 256)
	pvd := img[32*sectorSize:]
	pvd[24] = 8
	copy(pvd[25:], label)
	pvd[55] = byte(len(label) + 1)
	udfTag(pvd, 1, 32)
	pd := img[33*sectorSize:]
	binary.LittleEndian.PutUint32(pd[188:], 257)
	binary.LittleEndian.PutUint32(pd[192:], 3)
	udfTag(pd, 5, 33)
	udfTag(img[34*sectorSize:], 8, 34)
	return img
}

func udfTag(b []byte, id uint16, loc uint32) {
	binary.LittleEndian.PutUint16(b, id)
	binary.LittleEndian.PutUint16(b[2:], 2)
	binary.LittleEndian.PutUint32(b[12:], loc)
	var sum byte
	for i := range 16 {
		if i != 4 {
			sum += b[i]
		}
	}
	b[4] = sum
}

func pad(s string, n int) []byte {
	b := []byte(s)
	for len(b) < n {
		b = append(b, ' ')
	}
	return b[:n]
}

func bothEndian32(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
}

func bothEndian16(b []byte, v uint16) {
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
}

// testDiscKey is the sample key of the fixtures.
var testDiscKey = []byte("mediagate test disc sample key!!")

// isoNode is a file or directory of an image built by buildISOTree.
type isoNode struct {
	name string
	data []byte     // file content
	kids []*isoNode // directory entries; a node with kids or dir set is a directory
	dir  bool

	loc, size uint32 // assigned by buildISOTree
}

func isoDir(name string, kids ...*isoNode) *isoNode {
	return &isoNode{name: name, kids: kids, dir: true}
}
func isoFile(name string, data []byte) *isoNode { return &isoNode{name: name, data: data} }

func isoRecLen(name string) int {
	l := 33 + len(name)
	return l + l%2
}

// isoDirSectors packs the records of a directory ("." and ".." first) into sectors.
func isoDirSectors(n *isoNode) int {
	sectors, used := 1, 0
	for _, l := range append([]int{34, 34}, func() []int {
		var ls []int
		for _, k := range n.kids {
			ls = append(ls, isoRecLen(k.name))
		}
		return ls
	}()...) {
		if used+l > sectorSize {
			sectors, used = sectors+1, 0
		}
		used += l
	}
	return sectors
}

// buildISOTree returns an ISO 9660 image with a primary volume descriptor (as
// buildISO), a set terminator, the directories of root from sector 18 and then the
// file data, each file starting on its own block. The volume space is exactly the
// image.
func buildISOTree(label string, root *isoNode) []byte {
	next := uint32(18)
	var dirs, files []*isoNode
	var assign func(n *isoNode)
	assign = func(n *isoNode) {
		if n.dir {
			n.loc, n.size = next, uint32(isoDirSectors(n)*sectorSize)
			next += n.size / sectorSize
			dirs = append(dirs, n)
			for _, k := range n.kids {
				assign(k)
			}
			return
		}
		files = append(files, n)
	}
	assign(root)
	for _, f := range files {
		f.loc, f.size = next, uint32(len(f.data))
		next += uint32((len(f.data) + sectorSize - 1) / sectorSize)
	}
	img := buildISO(label, int(next))
	pvd := img[16*sectorSize:]
	writeISORecord(pvd[156:190], "\x00", root)
	parents := map[*isoNode]*isoNode{root: root}
	for _, d := range dirs {
		for _, k := range d.kids {
			parents[k] = d
		}
	}
	for _, d := range dirs {
		ext := img[d.loc*sectorSize : d.loc*sectorSize+d.size]
		off := 0
		put := func(name string, n *isoNode) {
			l := isoRecLen(name)
			if off%sectorSize+l > sectorSize {
				off += sectorSize - off%sectorSize
			}
			writeISORecord(ext[off:off+l], name, n)
			off += l
		}
		put("\x00", d)
		put("\x01", parents[d])
		for _, k := range d.kids {
			put(k.name, k)
		}
	}
	for _, f := range files {
		copy(img[f.loc*sectorSize:], f.data)
	}
	return img
}

func writeISORecord(b []byte, name string, n *isoNode) {
	b[0] = byte(len(b))
	bothEndian32(b[2:], n.loc)
	bothEndian32(b[10:], n.size)
	if n.dir {
		b[25] = 2
	}
	bothEndian16(b[28:], 1)
	b[32] = byte(len(name))
	copy(b[33:], name)
}

// filled returns n bytes of a pattern that depends on seed.
func filled(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+i/sectorSize)
	}
	return b
}
