package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Files maps slash-separated paths on a medium to their contents.
type Files map[string][]byte

// stage writes files into a new directory under dir and returns it.
func (f Files) stage(dir string) (string, error) {
	root, err := os.MkdirTemp(dir, "stage-")
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		clean := filepath.Clean("/" + n)
		if clean == "/" {
			return "", fmt.Errorf("bad file name %q", n)
		}
		p := filepath.Join(root, clean)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, f[n], 0o644); err != nil {
			return "", err
		}
	}
	return root, nil
}

func run(name string, stdin []byte, args ...string) error {
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// MakeStickImage writes a raw disk image of sizeMiB MiB at path, as a USB stick comes
// from the shop: a DOS partition table with one FAT partition (type 0c) at 1 MiB holding
// a vfat file system labelled label with files on it. It needs no root: sfdisk,
// mkfs.vfat --offset and mtools work on the file.
func MakeStickImage(path string, sizeMiB int, label string, files Files) error {
	if sizeMiB < 4 {
		return fmt.Errorf("stick image %s: %d MiB is too small", path, sizeMiB)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = f.Truncate(int64(sizeMiB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("stick image %s: %w", path, err)
	}
	if err := run("sfdisk", []byte("label: dos\nstart=2048, type=c\n"), "--quiet", "--no-reread", "--no-tell-kernel", path); err != nil {
		return err
	}
	// Sectors of the partition, in 1 KiB blocks for mkfs.vfat.
	blocks := fmt.Sprint((int64(sizeMiB)<<20 - 2048*512) / 1024)
	args := []string{"--offset", "2048"}
	if label != "" {
		args = append(args, "-n", label)
	}
	args = append(args, path, blocks)
	if err := run("mkfs.vfat", nil, args...); err != nil {
		return err
	}
	if len(files) == 0 {
		return nil
	}
	src, err := files.stage(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("stick image %s: %w", path, err)
	}
	defer os.RemoveAll(src)
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	margs := []string{"-s", "-i", path + "@@1M"}
	for _, e := range entries {
		margs = append(margs, filepath.Join(src, e.Name()))
	}
	margs = append(margs, "::/")
	return run("mcopy", nil, margs...)
}

// MakeISO writes an ISO 9660 image (with Rock Ridge and Joliet) with volume id volid
// holding files, using xorriso.
func MakeISO(path, volid string, files Files) error {
	src, err := files.stage(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("iso %s: %w", path, err)
	}
	defer os.RemoveAll(src)
	if volid == "" {
		volid = "MEDIAGATE"
	}
	return run("xorriso", nil, "-as", "mkisofs", "-quiet", "-R", "-J", "-V", volid, "-o", path, src)
}
