package registry

import (
	"context"
	"path/filepath"
	"testing"
)

// With the memory.counters tag (as mediagated is built) an open register's SQLite
// memory is counted; without it SQLiteMemory says it has no figure.
func TestSQLiteMemory(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kib, ok := SQLiteMemory()
	if ok != memoryCounters {
		t.Fatalf("SQLiteMemory ok = %v, want %v (memory.counters tag)", ok, memoryCounters)
	}
	if ok && kib <= 0 {
		t.Errorf("SQLiteMemory = %d KiB with a register open", kib)
	}
	if !ok && kib != 0 {
		t.Errorf("SQLiteMemory = %d KiB without counters", kib)
	}
}
