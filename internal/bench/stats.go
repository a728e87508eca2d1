package bench

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Percentile returns the q-quantile (0 < q ≤ 1: 0.5 is the median) of ds by the
// nearest-rank method, and false when ds is empty. Any other q is a mistake of the
// caller's (a percentage, 50 for 0.5, would silently give the largest value), and
// panics.
func Percentile[T cmp.Ordered](ds []T, q float64) (T, bool) {
	if !(q > 0 && q <= 1) {
		panic(fmt.Sprintf("bench: quantile %v is not in (0, 1]", q))
	}
	if len(ds) == 0 {
		var zero T
		return zero, false
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999999) - 1
	i = max(0, min(i, len(s)-1))
	return s[i], true
}

// Collect returns the durations f gives for the plugs that pass keep, leaving out
// Missing ones, and how many were missing.
func Collect(ps []PlugTiming, keep func(PlugTiming) bool, f func(PlugTiming) time.Duration) (ds []time.Duration, missing int) {
	for _, p := range ps {
		if !keep(p) {
			continue
		}
		if d := f(p); d != Missing && p.Add != Missing {
			ds = append(ds, d)
		} else {
			missing++
		}
	}
	return ds, missing
}

// Allowed and Blocked select plugs by what the plan expects.
func Allowed(p PlugTiming) bool { return p.Allow }
func Blocked(p PlugTiming) bool { return !p.Allow }
