package daemon

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// fillRecord sets every plain string, string slice and int slice in v (a Record, its
// exported fields and unexported ones alike) to distinct values made at run time, so
// that a field added to Record and forgotten by compacted shows.
func fillRecord(v reflect.Value, n *int) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := range v.NumField() {
			f := v.Field(i)
			fillRecord(reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), n)
		}
	case reflect.Array:
		for i := range v.Len() {
			fillRecord(v.Index(i), n)
		}
	case reflect.String:
		if v.Type() == reflect.TypeOf("") {
			*n++
			v.SetString(fmt.Sprintf("field %d", *n))
		}
	case reflect.Slice:
		switch v.Type().Elem().Kind() {
		case reflect.String:
			*n += 2
			v.Set(reflect.ValueOf([]string{fmt.Sprintf("item %d", *n-1), fmt.Sprintf("item %d", *n)}))
		case reflect.Int:
			*n++
			v.Set(reflect.ValueOf([]int{*n, *n + 100}))
		}
	}
}

// plainStrings lists the data of every non-empty plain string in v.
func plainStrings(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			plainStrings(v.Field(i), out)
		}
	case reflect.Array, reflect.Slice:
		for i := range v.Len() {
			plainStrings(v.Index(i), out)
		}
	case reflect.String:
		if v.Type() == reflect.TypeOf("") && v.Len() > 0 {
			*out = append(*out, v.String())
		}
	}
}

func TestCompactedRecordIsTheSameInOneAllocation(t *testing.T) {
	var r Record
	n := 0
	fillRecord(reflect.ValueOf(&r).Elem(), &n)
	r.Time = time.Now()
	want := r
	want.Behind = append([]string(nil), r.Behind...)
	want.Actions = append([]string(nil), r.Actions...)
	want.Identity.InterfaceClasses = append([]int(nil), r.Identity.InterfaceClasses...)
	want.Decision.Classes = append([]int(nil), r.Decision.Classes...)

	c := r.compacted()
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("compacted record differs:\n got %+v\nwant %+v", c, want)
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("compacting changed the original:\n got %+v\nwant %+v", r, want)
	}
	var strs []string
	plainStrings(reflect.ValueOf(c), &strs)
	total := 0
	for _, s := range strs {
		total += len(s)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(strs[0])))
	for _, s := range strs {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		lo = min(lo, p)
	}
	for _, s := range strs {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		if p < lo || p+uintptr(len(s)) > lo+uintptr(total) {
			t.Errorf("string %q is outside the record's one allocation", s)
		}
	}
	if len(strs) < 25 {
		t.Errorf("only %d strings filled; the walk missed fields", len(strs))
	}
	// The slices are the copy's own.
	r.Behind[0], r.Actions[0] = "changed", "changed"
	if c.Behind[0] == "changed" || c.Actions[0] == "changed" {
		t.Error("the compacted record shares its slices with the original")
	}
	r.Identity.InterfaceClasses[0], r.Decision.Classes[0] = -1, -1
	if c.Identity.InterfaceClasses[0] == -1 || c.Decision.Classes[0] == -1 {
		t.Error("the compacted record shares its class lists with the original")
	}
	// Appending to one slice must not overwrite the next one in the shared array.
	c.Behind = append(c.Behind, "x")
	c.Identity.InterfaceClasses = append(c.Identity.InterfaceClasses, 7)
	if c.Actions[0] != want.Actions[0] || c.Decision.Classes[0] != want.Decision.Classes[0] {
		t.Error("appending to one compacted slice overwrote the next")
	}
}

func TestCompactedKeepsNilAndEmptySlicesApart(t *testing.T) {
	r := Record{DevPath: "/devices/x", Actions: []string{}}
	c := r.compacted()
	if c.Behind != nil || c.Actions != nil && len(c.Actions) != 0 || c.Identity.InterfaceClasses != nil {
		t.Errorf("compacted = %+v", c)
	}
	if c.DevPath != r.DevPath {
		t.Errorf("DevPath %q", c.DevPath)
	}
}
