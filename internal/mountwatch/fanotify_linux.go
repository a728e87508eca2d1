package mountwatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI of statmount(2)/listmount(2) (linux/mount.h, 6.8+), not yet
// wrapped by x/sys.
const (
	statmountSBBasic  = 0x1
	statmountMntBasic = 0x2
	lsmtRoot          = ^uint64(0)
)

type mntIDReq struct {
	Size    uint32
	Spare   uint32
	MntID   uint64
	Param   uint64
	MntNsID uint64
}

// statmountHead is the fixed head of struct statmount up to the fields used.
type statmountHead struct {
	Size           uint32
	MntOpts        uint32
	Mask           uint64
	SbDevMajor     uint32
	SbDevMinor     uint32
	SbMagic        uint64
	SbFlags        uint32
	FsType         uint32
	MntID          uint64
	MntParentID    uint64
	MntIDOld       uint32
	MntParentIDOld uint32
	MntAttr        uint64
}

// statmountBasic returns the statmount head of the mount with the given
// unique id.
func statmountBasic(unique uint64) (statmountHead, error) {
	req := mntIDReq{Size: unix.MNT_ID_REQ_SIZE_VER0, MntID: unique, Param: statmountSBBasic | statmountMntBasic}
	var buf [64]uint64 // 512 bytes: the fixed part of struct statmount
	_, _, errno := unix.Syscall6(unix.SYS_STATMOUNT, uintptr(unsafe.Pointer(&req)),
		uintptr(unsafe.Pointer(&buf[0])), unsafe.Sizeof(buf), 0, 0, 0)
	if errno != 0 {
		return statmountHead{}, fmt.Errorf("statmount %d: %w", unique, errno)
	}
	return *(*statmountHead)(unsafe.Pointer(&buf[0])), nil
}

// uniqueMountIDs maps the unique (64-bit) id of every mount in the caller's
// namespace to its mountinfo id, via listmount(2) and statmount(2).
func uniqueMountIDs() (map[uint64]int, error) {
	ids := make(map[uint64]int)
	batch := make([]uint64, 512)
	var last uint64
	for {
		req := mntIDReq{Size: unix.MNT_ID_REQ_SIZE_VER0, MntID: lsmtRoot, Param: last}
		n, _, errno := unix.Syscall6(unix.SYS_LISTMOUNT, uintptr(unsafe.Pointer(&req)),
			uintptr(unsafe.Pointer(&batch[0])), uintptr(len(batch)), 0, 0, 0)
		if errno != 0 {
			return nil, fmt.Errorf("listmount: %w", errno)
		}
		for _, u := range batch[:n] {
			h, err := statmountBasic(u)
			if err != nil {
				continue // unmounted since listmount
			}
			ids[u] = int(h.MntIDOld)
		}
		if int(n) < len(batch) {
			return ids, nil
		}
		last = batch[n-1]
	}
}

// readFanotify drains the fanotify group into w.pending.
func (w *Watcher) readFanotify() {
	var buf [4096]byte
	for {
		n, err := unix.Read(w.fanFd, buf[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return // EAGAIN: drained
		}
		for _, r := range parseFanotify(buf[:n]) {
			// Read /proc first: mount(8) exits right after the syscall.
			if r.pid > 0 {
				if p, err := ReadProcess(w.opts.ProcRoot, r.pid); err == nil {
					r.proc = &p
				}
			}
			r.at = w.opts.Now()
			if r.detach {
				r.oldID = w.uniqueToOld[r.unique]
				delete(w.uniqueToOld, r.unique)
			} else if h, err := statmountBasic(r.unique); err == nil {
				r.oldID = int(h.MntIDOld)
				w.uniqueToOld[r.unique] = r.oldID
			}
			w.pending = append(w.pending, r)
		}
	}
}

// parseFanotify decodes FAN_MNT_ATTACH/DETACH events reported with
// FAN_REPORT_MNT: struct fanotify_event_metadata followed by info records,
// one of which is struct fanotify_event_info_mnt { hdr; __u64 mnt_id; }.
func parseFanotify(b []byte) []fanRecord {
	const metaLen = 24 // sizeof(struct fanotify_event_metadata)
	ne := binary.NativeEndian
	var out []fanRecord
	for len(b) >= metaLen {
		evLen, vers, infoOff := int(ne.Uint32(b[0:4])), b[4], int(ne.Uint16(b[6:8]))
		mask, pid := ne.Uint64(b[8:16]), int(int32(ne.Uint32(b[20:24])))
		if evLen < metaLen || evLen > len(b) || vers != unix.FANOTIFY_METADATA_VERSION ||
			infoOff < metaLen || infoOff > evLen {
			return out
		}
		r := fanRecord{detach: mask&unix.FAN_MNT_DETACH != 0, pid: pid}
		found := false
		info := b[infoOff:evLen]
		for len(info) >= 4 {
			typ, l := info[0], int(ne.Uint16(info[2:4]))
			if l < 4 || l > len(info) {
				break
			}
			if typ == unix.FAN_EVENT_INFO_TYPE_MNT && l >= 16 {
				r.unique = ne.Uint64(info[8:16])
				found = true
			}
			info = info[l:]
		}
		if found && mask&(unix.FAN_MNT_ATTACH|unix.FAN_MNT_DETACH) != 0 {
			out = append(out, r)
		}
		b = b[evLen:]
	}
	return out
}
