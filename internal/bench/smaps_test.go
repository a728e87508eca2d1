package bench

import (
	"strings"
	"testing"
)

const smapsBefore = `00400000-00c00000 r-xp 00000000 fe:01 1234                       /usr/local/sbin/mediagated
Size:               8192 kB
Rss:                3000 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
c000000000-c000400000 rw-p 00000000 00:00 0 
Size:               4096 kB
Rss:                1024 kB
Anonymous:          1024 kB
AnonHugePages:      2048 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 
Rss:                 100 kB
Anonymous:           100 kB
`

const smapsAfter = `00400000-00c00000 r-xp 00000000 fe:01 1234                       /usr/local/sbin/mediagated
Size:               8192 kB
Rss:                3010 kB
Anonymous:             0 kB
c000000000-c000400000 rw-p 00000000 00:00 0 
Rss:                2048 kB
Anonymous:          2048 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0 
Rss:                 512 kB
Anonymous:           512 kB
`

func TestParseSmaps(t *testing.T) {
	ms, err := ParseSmaps(smapsBefore)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("%d mappings, want 3: %+v", len(ms), ms)
	}
	if m := ms[0]; m.Start != 0x400000 || m.End != 0xc00000 || m.Name != "/usr/local/sbin/mediagated" || m.RSSKiB != 3000 || m.AnonKiB != 0 {
		t.Errorf("first mapping %+v", m)
	}
	if m := ms[1]; m.Name != "" || m.RSSKiB != 1024 || m.AnonKiB != 1024 || m.HugeKiB != 2048 {
		t.Errorf("second mapping %+v", m)
	}
	for _, bad := range []string{
		"Rss: 4 kB\n", // a figure before any mapping
		"00400000 r-xp 00000000 fe:01 1234 /bin/x\n",      // no range
		"00c00000-00400000 r-xp 00000000 fe:01 1234 x\n",  // end before start
		"00400000-00c00000 r-xp 0 0 0\nRss: many kB\n",    // not a number
		"00400000-00c00000 r-xp 0 0 0\nRss: -4 kB\n",      // negative
		"00400000-00c00000 r-xp 0 0 0\nAnonymous: 4 MB\n", // unit
	} {
		if _, err := ParseSmaps(bad); err == nil {
			t.Errorf("ParseSmaps(%q) took it", bad)
		}
	}
}

func TestMappingGrowth(t *testing.T) {
	before, err := ParseSmaps(smapsBefore)
	if err != nil {
		t.Fatal(err)
	}
	after, err := ParseSmaps(smapsAfter)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	MappingGrowth(&sb, before, after, 64)
	got := sb.String()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	// heap +1024, new region +512, gone region -100; the binary's +10 is under 64.
	if len(lines) != 4 {
		t.Fatalf("want 3 mappings and the totals:\n%s", got)
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), "c000000000-c000400000") || !strings.Contains(lines[0], "RSS  +1024 →   2048 KiB") {
		t.Errorf("largest change first:\n%s", got)
	}
	if !strings.Contains(lines[1], "7f0000200000") || !strings.Contains(lines[2], "7f0000000000") || !strings.Contains(lines[2], "RSS   -100 →      0") {
		t.Errorf("new and gone mappings:\n%s", got)
	}
	if !strings.Contains(lines[3], "RSS +1446 KiB, anonymous +1436 KiB") {
		t.Errorf("totals: %s", lines[3])
	}
}

func FuzzParseSmaps(f *testing.F) {
	f.Add(smapsBefore)
	f.Add(smapsAfter)
	f.Fuzz(func(t *testing.T, text string) {
		ms, err := ParseSmaps(text)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.End < m.Start || m.RSSKiB < 0 || m.AnonKiB < 0 || m.HugeKiB < 0 {
				t.Fatalf("accepted %+v", m)
			}
		}
	})
}

func TestLargestMappings(t *testing.T) {
	ms, err := ParseSmaps(smapsBefore)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	LargestMappings(&sb, ms, 2)
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "RSS   3000 KiB") || !strings.Contains(lines[0], "mediagated") || !strings.Contains(lines[1], "RSS   1024 KiB, anonymous   1024 KiB, huge pages   2048 KiB  (anonymous)") {
		t.Errorf("largest two:\n%s", sb.String())
	}
	if ms[0].RSSKiB != 3000 || ms[2].RSSKiB != 100 {
		t.Error("LargestMappings reordered its argument")
	}
}
