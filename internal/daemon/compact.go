package daemon

import "strings"

// compacted returns a copy of r whose strings share one allocation, and whose string
// and integer slices one each. The decisions Status keeps (Config.Recent) outlive the
// event that made them; kept as read, each of their dozen small strings would sit in
// a different span of the heap among that event's garbage and keep the span in use
// after every collection: on the build machine, over the first hundred plugs about
// 0.3 MB of the heap held for 0.1 MB of records (docs/performance.md, "What changed
// (2 December, early morning)").
//
// The typed strings (kinds, verdicts, reasons) are the packages' constants and are
// left as they are.
func (r Record) compacted() Record {
	strs := r.stringFields()
	n := 0
	for _, s := range strs {
		n += len(*s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range strs {
		b.WriteString(*s)
	}
	all, off := b.String(), 0
	for _, s := range strs {
		l := len(*s)
		*s = all[off : off+l]
		off += l
	}
	if k := len(r.Identity.InterfaceClasses) + len(r.Decision.Classes); k > 0 {
		ints := make([]int, 0, k)
		ints = append(ints, r.Identity.InterfaceClasses...)
		ints = append(ints, r.Decision.Classes...)
		r.Identity.InterfaceClasses = keepNil(r.Identity.InterfaceClasses, ints[:len(r.Identity.InterfaceClasses):len(r.Identity.InterfaceClasses)])
		r.Decision.Classes = keepNil(r.Decision.Classes, ints[len(r.Identity.InterfaceClasses):k:k])
	}
	return r
}

// stringFields points at every string of r that may come from the event: those in
// Behind and Actions are moved first into one new slice, so that r no longer shares
// them with the record it was copied from.
func (r *Record) stringFields() []*string {
	if k := len(r.Behind) + len(r.Actions); k > 0 {
		list := make([]string, 0, k)
		list = append(list, r.Behind...)
		list = append(list, r.Actions...)
		nb := len(r.Behind)
		r.Behind = keepNil(r.Behind, list[:nb:nb])
		r.Actions = keepNil(r.Actions, list[nb:k:k])
	}
	fields := []*string{
		&r.Stage, &r.DevPath, &r.Name, &r.Label, &r.Parent,
		&r.Identity.Key, &r.Identity.Serial, &r.Identity.VendorID, &r.Identity.ProductID,
		&r.Identity.WWN, &r.Identity.DescriptorHash,
		&r.Decision.Detail, &r.Decision.Medium, &r.Decision.HostNumber, &r.Decision.Custodian,
		&r.Error, &r.Note, &r.Message[0], &r.Message[1],
		&r.stamp.Busnum, &r.stamp.Devnum,
	}
	for i := range r.Behind {
		fields = append(fields, &r.Behind[i])
	}
	for i := range r.Actions {
		fields = append(fields, &r.Actions[i])
	}
	return fields
}

// keepNil returns s, or nil where was is nil: a copy that keeps the difference
// between no slice and an empty one (JSON's null and []).
func keepNil[S ~[]E, E any](was, s S) S {
	if was == nil {
		return nil
	}
	return s
}
