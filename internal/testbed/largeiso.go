package testbed

import (
	"encoding/binary"
	"fmt"
	"os"
)

// MakeLargeISO writes a sparse ISO 9660 image of a full disc for timing: a root with
// dirs directories, each holding filesPerDir files of fileSize bytes. Directory
// extents are written; each file's data is a hole except its first 32 bytes (its path),
// so the image costs little disk space whatever its size. No Rock Ridge, no Joliet, no
// path tables: enough for the kernel's block device, blkid and mediagate's identity,
// not meant to be mounted.
func MakeLargeISO(path, volid string, dirs, filesPerDir int, fileSize int64) error {
	const sector = 2048
	if dirs < 1 || filesPerDir < 0 || fileSize < 0 || len(volid) > 32 {
		return fmt.Errorf("large iso %s: bad shape", path)
	}
	recLen := func(nameLen int) int { l := 33 + nameLen; return l + l%2 }
	dirSectors := func(names []int) uint32 {
		sectors, used := uint32(1), 0
		for _, n := range append([]int{1, 1}, names...) {
			if used+recLen(n) > sector {
				sectors, used = sectors+1, 0
			}
			used += recLen(n)
		}
		return sectors
	}
	dirName := func(i int) string { return fmt.Sprintf("D%05d", i) }
	fileName := func(j int) string { return fmt.Sprintf("F%05d.DAT;1", j) }
	subNames := make([]int, dirs)
	for i := range subNames {
		subNames[i] = len(dirName(i))
	}
	fileNames := make([]int, filesPerDir)
	for j := range fileNames {
		fileNames[j] = len(fileName(j))
	}
	rootLoc, rootLen := uint32(18), dirSectors(subNames)
	perDir := dirSectors(fileNames)
	dirLoc := func(i int) uint32 { return rootLoc + rootLen + uint32(i)*perDir }
	fileBlocks := uint32((fileSize + sector - 1) / sector)
	firstData := dirLoc(dirs)
	fileLoc := func(i, j int) uint32 { return firstData + uint32(i*filesPerDir+j)*fileBlocks }
	total := int64(fileLoc(dirs-1, filesPerDir-1)) + int64(fileBlocks)
	if filesPerDir == 0 {
		total = int64(firstData)
	}
	if total >= 1<<32 {
		return fmt.Errorf("large iso %s: %d blocks", path, total)
	}

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("large iso: %w", err)
	}
	defer f.Close()
	both32 := func(b []byte, v uint32) {
		binary.LittleEndian.PutUint32(b, v)
		binary.BigEndian.PutUint32(b[4:], v)
	}
	both16 := func(b []byte, v uint16) {
		binary.LittleEndian.PutUint16(b, v)
		binary.BigEndian.PutUint16(b[2:], v)
	}
	record := func(b []byte, name string, loc, size uint32, dir bool) int {
		l := recLen(len(name))
		b[0] = byte(l)
		both32(b[2:], loc)
		both32(b[10:], size)
		if dir {
			b[25] = 2
		}
		both16(b[28:], 1)
		b[32] = byte(len(name))
		copy(b[33:], name)
		return l
	}
	writeDir := func(loc, sectors, parent uint32, names []string, locs, sizes []uint32, dirs bool) error {
		ext := make([]byte, int(sectors)*sector)
		off := 0
		put := func(name string, loc, size uint32, dir bool) {
			if off%sector+recLen(len(name)) > sector {
				off += sector - off%sector
			}
			off += record(ext[off:], name, loc, size, dir)
		}
		put("\x00", loc, sectors*sector, true)
		put("\x01", parent, rootLen*sector, true)
		for k, n := range names {
			put(n, locs[k], sizes[k], dirs)
		}
		_, err := f.WriteAt(ext, int64(loc)*sector)
		return err
	}

	pvd := make([]byte, 2*sector)
	pvd[0] = 1
	copy(pvd[1:], "CD001")
	pvd[6] = 1
	copy(pvd[8:40], fmt.Sprintf("%-32s", "LINUX"))
	copy(pvd[40:72], fmt.Sprintf("%-32s", volid))
	both32(pvd[80:], uint32(total))
	both16(pvd[120:], 1)
	both16(pvd[124:], 1)
	both16(pvd[128:], sector)
	record(pvd[156:190], "\x00", rootLoc, rootLen*sector, true)
	copy(pvd[190:318], fmt.Sprintf("%-128s", ""))
	copy(pvd[813:], "2026112912000000\x00")
	copy(pvd[830:], "2026112912000000\x00")
	copy(pvd[847:], "0000000000000000\x00")
	copy(pvd[864:], "0000000000000000\x00")
	pvd[881] = 1
	term := pvd[sector:]
	term[0] = 255
	copy(term[1:], "CD001")
	term[6] = 1
	if _, err := f.WriteAt(pvd, 16*sector); err != nil {
		return fmt.Errorf("large iso: %w", err)
	}

	names := make([]string, dirs)
	locs := make([]uint32, dirs)
	sizes := make([]uint32, dirs)
	for i := range dirs {
		names[i], locs[i], sizes[i] = dirName(i), dirLoc(i), perDir*sector
	}
	if err := writeDir(rootLoc, rootLen, rootLoc, names, locs, sizes, true); err != nil {
		return fmt.Errorf("large iso: %w", err)
	}
	names = make([]string, filesPerDir)
	locs = make([]uint32, filesPerDir)
	sizes = make([]uint32, filesPerDir)
	for i := range dirs {
		for j := range filesPerDir {
			names[j], locs[j], sizes[j] = fileName(j), fileLoc(i, j), uint32(fileSize)
			if fileSize > 0 {
				stamp := fmt.Appendf(nil, "%-32.32s", "/"+dirName(i)+"/"+fileName(j))
				if _, err := f.WriteAt(stamp[:min(int64(len(stamp)), fileSize)], int64(locs[j])*sector); err != nil {
					return fmt.Errorf("large iso: %w", err)
				}
			}
		}
		if err := writeDir(dirLoc(i), perDir, rootLoc, names, locs, sizes, false); err != nil {
			return fmt.Errorf("large iso: %w", err)
		}
	}
	if err := f.Truncate(total * sector); err != nil {
		return fmt.Errorf("large iso: %w", err)
	}
	return f.Close()
}
