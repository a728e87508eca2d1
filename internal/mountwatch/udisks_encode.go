package mountwatch

import "encoding/binary"

// EncodeUdisksMounts serialises entries as udisks writes its state (GVariant
// a{sa{sv}}, little-endian), for tests and fixtures; ParseUdisksMounts reads it back.
func EncodeUdisksMounts(ms []UdisksMount) []byte {
	var entries [][]byte
	for _, m := range ms {
		dev := binary.LittleEndian.AppendUint64(nil, m.Device)
		uid := binary.LittleEndian.AppendUint32(nil, m.UID)
		fstab := []byte{0}
		if m.Fstab {
			fstab[0] = 1
		}
		props := [][]byte{
			gvEntry("block-device", gvVariantOf(dev, "t")),
			gvEntry("mounted-by-uid", gvVariantOf(uid, "u")),
			gvEntry("fstab-mount", gvVariantOf(fstab, "b")),
		}
		entries = append(entries, gvEntry(m.MountPoint, gvArrayOf(props)))
	}
	return gvArrayOf(entries)
}

func gvVariantOf(data []byte, typ string) []byte {
	return append(append(append([]byte{}, data...), 0), typ...)
}

func gvPad(b []byte, a int) []byte {
	for len(b)%a != 0 {
		b = append(b, 0)
	}
	return b
}

func gvAppendOffsets(body []byte, offs []int) []byte {
	osz := 1
	for ; osz < 8; osz *= 2 {
		if gvOffsetSize(len(body)+len(offs)*osz) == osz {
			break
		}
	}
	for _, o := range offs {
		for i := range osz {
			body = append(body, byte(o>>(8*i)))
		}
	}
	return body
}

func gvEntry(key string, value []byte) []byte {
	b := append([]byte(key), 0)
	end := len(b)
	b = gvPad(b, 8)
	b = append(b, value...)
	return gvAppendOffsets(b, []int{end})
}

func gvArrayOf(elems [][]byte) []byte {
	var b []byte
	var offs []int
	for _, e := range elems {
		b = gvPad(b, 8)
		b = append(b, e...)
		offs = append(offs, len(b))
	}
	if len(elems) == 0 {
		return nil
	}
	return gvAppendOffsets(b, offs)
}
