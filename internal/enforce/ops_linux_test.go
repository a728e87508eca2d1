//go:build linux

package enforce

import (
	"testing"
	"unsafe"
)

// sg_io_hdr is 88 bytes with pointers of 8 bytes and 64 with pointers of 4; the
// kernel rejects or misreads anything else.
func TestSGIOHeaderLayout(t *testing.T) {
	want := uintptr(88)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 64
	}
	if got := unsafe.Sizeof(sgIOHdr{}); got != want {
		t.Errorf("sizeof sg_io_hdr = %d, want %d", got, want)
	}
	if got := unsafe.Offsetof(sgIOHdr{}.usrPtr); unsafe.Sizeof(uintptr(0)) == 8 && got != 56 {
		t.Errorf("offset of usr_ptr = %d, want 56", got)
	}
}
