package mountwatch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mountinfo", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseFixture(t testing.TB, name string) []Mount {
	t.Helper()
	ms, err := ParseMountinfo(fixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ms
}

func TestParseMountinfoDesktop(t *testing.T) {
	ms := parseFixture(t, "debian12-desktop.txt")
	if len(ms) != 18 {
		t.Fatalf("got %d mounts, want 18", len(ms))
	}
	byPoint := map[string]Mount{}
	for _, m := range ms {
		byPoint[m.MountPoint] = m
	}
	tests := []struct {
		point string
		want  Mount
	}{
		{"/media/alice/KINGSTON", Mount{ID: 455, ParentID: 28, Major: 8, Minor: 17, Root: "/",
			MountPoint: "/media/alice/KINGSTON", Options: "rw,nosuid,nodev,relatime", Optional: []string{"shared:366"},
			FSType: "vfat", Source: "/dev/sdb1",
			SuperOptions: "rw,uid=1000,gid=1000,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,shortname=mixed,showexec,utf8,flush,errors=remount-ro"}},
		{"/media/alice/Backup Disk\tv2", Mount{ID: 461, ParentID: 28, Major: 8, Minor: 33, Root: "/",
			MountPoint: "/media/alice/Backup Disk\tv2", Options: "rw,nosuid,nodev,relatime", Optional: []string{"shared:370"},
			FSType: "exfat", Source: "/dev/sdc1", SuperOptions: "rw,uid=1000,gid=1000,fmask=0022,dmask=0022,iocharset=utf8,errors=remount-ro"}},
		{"/sys/fs/cgroup/back\\slash", Mount{ID: 473, ParentID: 33, Major: 0, Minor: 29, Root: "/",
			MountPoint: "/sys/fs/cgroup/back\\slash", Options: "rw,nosuid,nodev,noexec,relatime",
			Optional: []string{"shared:9", "master:12", "propagate_from:2", "unbindable"},
			FSType:   "cgroup2", Source: "cgroup2", SuperOptions: "rw"}},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			got, ok := byPoint[tt.point]
			if !ok {
				t.Fatalf("mount point %q not parsed", tt.point)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if m := byPoint["/srv/reports"]; m.Root != "/reports" || m.Source != "/dev/sdb1" {
		t.Errorf("bind of subtree: got root %q source %q", m.Root, m.Source)
	}
	if !byPoint["/media/alice/ARCHIVE_2025"].ReadOnly() || byPoint["/media/alice/KINGSTON"].ReadOnly() {
		t.Error("ReadOnly wrong for CD or stick")
	}
}

func TestBlockDevice(t *testing.T) {
	var got []string
	for _, m := range parseFixture(t, "debian12-desktop.txt") {
		if m.BlockDevice() {
			got = append(got, m.MountPoint)
		}
	}
	want := []string{"/", "/boot/efi", "/home", "/media/alice/KINGSTON", "/media/alice/Backup Disk\tv2",
		"/media/alice/ARCHIVE_2025", "/srv/reports"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("block mounts\ngot  %q\nwant %q", got, want)
	}
}

func TestParseMountinfoCaptures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "mountinfo", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := fixture(t, filepath.Base(f))
			ms, err := ParseMountinfo(data)
			if err != nil {
				t.Fatal(err)
			}
			// Writing the table back gives the captured bytes.
			var out []byte
			for _, m := range ms {
				out = m.AppendLine(out)
			}
			if !bytes.Equal(out, data) {
				t.Errorf("round trip differs:\n%s\nvs\n%s", out, data)
			}
		})
	}
}

func TestParseMountinfoLineErrors(t *testing.T) {
	long := "1 2 8:1 / /" + strings.Repeat("a", MaxLineLen) + " rw - ext4 /dev/sda1 rw"
	many := "1 2 8:1 / /m rw" + strings.Repeat(" shared:1", MaxOptionalFields+1) + " - ext4 /dev/sda1 rw"
	tests := map[string]string{
		"empty":          "",
		"short":          "1 2 8:1 / /m",
		"no separator":   "1 2 8:1 / /m rw shared:1 ext4 /dev/sda1 rw",
		"bad id":         "x 2 8:1 / /m rw - ext4 /dev/sda1 rw",
		"negative id":    "-1 2 8:1 / /m rw - ext4 /dev/sda1 rw",
		"huge id":        "99999999999 2 8:1 / /m rw - ext4 /dev/sda1 rw",
		"bad device":     "1 2 81 / /m rw - ext4 /dev/sda1 rw",
		"major overflow": "1 2 4294967296:1 / /m rw - ext4 /dev/sda1 rw",
		"no fstype":      "1 2 8:1 / /m rw -",
		"no source":      "1 2 8:1 / /m rw - ext4",
		"trailing":       "1 2 8:1 / /m rw - ext4 /dev/sda1 rw extra",
		"double space":   "1 2  8:1 / /m rw - ext4 /dev/sda1 rw",
		"too long":       long,
		"too many opts":  many,
	}
	for name, line := range tests {
		t.Run(name, func(t *testing.T) {
			if m, err := ParseMountinfoLine([]byte(line)); !errors.Is(err, ErrMalformed) {
				t.Errorf("got %+v, %v; want ErrMalformed", m, err)
			}
		})
	}
}

func TestParseMountinfoReportsLine(t *testing.T) {
	_, err := ParseMountinfo([]byte("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\n2 1 8:2 / /x rw\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("got %v, want an error naming line 3", err)
	}
}

func TestUnescape(t *testing.T) {
	tests := map[string]string{
		`/plain`:         "/plain",
		`/a\040b`:        "/a b",
		`/a\011\012\134`: "/a\t\n\\",
		`/a\043b`:        "/a#b",
		`/bad\04`:        `/bad\04`,
		`/bad\048`:       `/bad\048`,
		`/over\777`:      `/over\777`,
		`\`:              `\`,
		`/utf\303\251`:   "/utf\u00e9",
		`/x\134040`:      `/x\040`,
	}
	for in, want := range tests {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
