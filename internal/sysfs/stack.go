package sysfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Limits of a walk down a stack of block devices (device-mapper, md, LVM, LUKS …):
// the kernel builds far smaller stacks; the limits keep a hostile or broken tree from
// making the walk long.
const (
	MaxStackDepth = 8  // virtual devices on one path from the mounted one down
	MaxStackNodes = 64 // devices visited in all
)

// ErrStackLoop is returned when a device is its own slave, directly or not.
var ErrStackLoop = errors.New("the slaves of a block device lead back to it")

// ErrStackTooDeep is returned when a stack exceeds MaxStackDepth or MaxStackNodes.
var ErrStackTooDeep = errors.New("block device stack too deep")

// Stack is what a virtual block device stands on.
type Stack struct {
	// Via are the kernel names of the virtual devices from the one asked about down,
	// depth first, each once (for dm-1 over dm-0 over sdb1: dm-1, dm-0).
	Via []string
	// Under are the non-virtual block devices (partitions or whole disks) at the
	// bottom, in the order found, each once. Empty for a loop device or RAM disk,
	// which have no slaves.
	Under []BlockNode
}

// Underlying follows <sys><disk>/slaves/ of a virtual disk (devpath) down to the
// non-virtual block devices it is built on: a dm-crypt/LUKS or LVM volume to the
// partition of the stick, an md array to each member. A slave that is a partition of
// a virtual disk (md0p1) continues at that disk. A loop is refused with ErrStackLoop;
// more than MaxStackDepth levels or MaxStackNodes devices with ErrStackTooDeep.
func Underlying(sys, disk string) (Stack, error) {
	root, err := Root(sys)
	if err != nil {
		return Stack{}, fmt.Errorf("sysfs root %s: %w", sys, err)
	}
	w := stackWalk{root: root, onPath: map[string]bool{}, seen: map[string]bool{}}
	if err := w.walk(disk, 0); err != nil {
		return Stack{}, err
	}
	return w.st, nil
}

type stackWalk struct {
	root   string
	st     Stack
	onPath map[string]bool // virtual devpaths on the current path (loop check)
	seen   map[string]bool // every devpath visited
	nodes  int
}

func (w *stackWalk) walk(disk string, depth int) error {
	if w.onPath[disk] {
		return fmt.Errorf("%w: %s", ErrStackLoop, filepath.Base(disk))
	}
	if depth >= MaxStackDepth {
		return fmt.Errorf("%w: more than %d levels below %s", ErrStackTooDeep, MaxStackDepth, filepath.Base(disk))
	}
	if w.seen[disk] {
		return nil // reached twice without a loop (a diamond): once is enough
	}
	w.seen[disk] = true
	w.onPath[disk] = true
	defer delete(w.onPath, disk)
	w.st.Via = append(w.st.Via, filepath.Base(disk))
	ents, err := os.ReadDir(filepath.Join(w.root, disk, "slaves"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // loop, ram, zram …: nothing below
	}
	if err != nil {
		return fmt.Errorf("slaves of %s: %w", filepath.Base(disk), err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		if w.nodes++; w.nodes > MaxStackNodes {
			return fmt.Errorf("%w: more than %d devices below", ErrStackTooDeep, MaxStackNodes)
		}
		p, ok := resolve(w.root, filepath.Join(w.root, disk, "slaves", n))
		if !ok {
			return fmt.Errorf("slave %s of %s is not a device in sysfs", n, filepath.Base(disk))
		}
		node := BlockNode{DevPath: p, Name: filepath.Base(p), Disk: p}
		if Exists(filepath.Join(w.root, p, "partition")) {
			node.Disk, node.Partition = filepath.Dir(p), node.Name
		}
		if IsVirtualBlock(filepath.Base(node.Disk)) {
			if err := w.walk(node.Disk, depth+1); err != nil {
				return err
			}
			continue
		}
		if !w.seen[p] {
			w.seen[p] = true
			w.st.Under = append(w.st.Under, node)
		}
	}
	return nil
}
