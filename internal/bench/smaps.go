package bench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Mapping is one mapping of a process as /proc/PID/smaps shows it, with the figures
// the soak follows.
type Mapping struct {
	Start, End uint64
	Name       string // the file or [heap], [stack], …; empty for anonymous memory
	RSSKiB     int64
	AnonKiB    int64
	HugeKiB    int64 // AnonHugePages: transparent huge pages
}

// ParseSmaps reads the text of /proc/PID/smaps. A mapping's header line is its
// address range, permissions, offset, device, inode and name; its figures follow as
// "Key: N kB" lines. Anything else is an error: the text comes from the guest.
func ParseSmaps(text string) ([]Mapping, error) {
	var ms []Mapping
	for n, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if k, ok := strings.CutSuffix(f[0], ":"); ok {
			if len(ms) == 0 {
				return nil, fmt.Errorf("smaps line %d: %q before any mapping", n+1, k)
			}
			if k != "Rss" && k != "Anonymous" && k != "AnonHugePages" {
				continue
			}
			if len(f) != 3 || f[2] != "kB" {
				return nil, fmt.Errorf("smaps line %d: bad %s figure", n+1, k)
			}
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("smaps line %d: bad %s figure", n+1, k)
			}
			switch k {
			case "Rss":
				ms[len(ms)-1].RSSKiB = v
			case "Anonymous":
				ms[len(ms)-1].AnonKiB = v
			default:
				ms[len(ms)-1].HugeKiB = v
			}
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok || len(f) < 5 {
			return nil, fmt.Errorf("smaps line %d: not a mapping header", n+1)
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end < start {
			return nil, fmt.Errorf("smaps line %d: bad address range %q", n+1, f[0])
		}
		m := Mapping{Start: start, End: end}
		if len(f) > 5 {
			m.Name = strings.Join(f[5:], " ")
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// MappingGrowth writes the mappings whose resident or anonymous memory changed by at
// least minKiB from before to after, matched by start address and name, largest
// change first, and the totals. A mapping found on one side only counts from or to
// zero.
func MappingGrowth(w io.Writer, before, after []Mapping, minKiB int64) {
	type key struct {
		start uint64
		name  string
	}
	type row struct {
		m           Mapping
		rss, anon   int64 // after
		dRSS, dAnon int64
	}
	rows := map[key]*row{}
	for _, m := range before {
		rows[key{m.Start, m.Name}] = &row{m: m, dRSS: -m.RSSKiB, dAnon: -m.AnonKiB}
	}
	for _, m := range after {
		k := key{m.Start, m.Name}
		r := rows[k]
		if r == nil {
			r = &row{}
			rows[k] = r
		}
		r.m = m
		r.rss, r.anon = m.RSSKiB, m.AnonKiB
		r.dRSS += m.RSSKiB
		r.dAnon += m.AnonKiB
	}
	var list []*row
	var tRSS, tAnon int64
	for _, r := range rows {
		tRSS += r.dRSS
		tAnon += r.dAnon
		if abs(r.dRSS) >= minKiB || abs(r.dAnon) >= minKiB {
			list = append(list, r)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if abs(list[i].dRSS) != abs(list[j].dRSS) {
			return abs(list[i].dRSS) > abs(list[j].dRSS)
		}
		return list[i].m.Start < list[j].m.Start
	})
	for _, r := range list {
		name := r.m.Name
		if name == "" {
			name = "(anonymous)"
		}
		fmt.Fprintf(w, "  %x-%x %6d KiB  RSS %+6d → %6d KiB, anonymous %+6d → %6d KiB  %s\n",
			r.m.Start, r.m.End, (r.m.End-r.m.Start)>>10, r.dRSS, r.rss, r.dAnon, r.anon, name)
	}
	fmt.Fprintf(w, "  all mappings: RSS %+d KiB, anonymous %+d KiB\n", tRSS, tAnon)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// LargestMappings writes the n mappings with the most resident memory.
func LargestMappings(w io.Writer, ms []Mapping, n int) {
	ms = slices.Clone(ms)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].RSSKiB > ms[j].RSSKiB })
	for _, m := range ms[:min(n, len(ms))] {
		name := m.Name
		if name == "" {
			name = "(anonymous)"
		}
		fmt.Fprintf(w, "  %x-%x %6d KiB  RSS %6d KiB, anonymous %6d KiB, huge pages %6d KiB  %s\n", m.Start, m.End, (m.End-m.Start)>>10, m.RSSKiB, m.AnonKiB, m.HugeKiB, name)
	}
}
