package catalog

import "testing"

// TestKeysDefinedOnce: every key is in one table only (a second definition would be
// shadowed by the first table that has it).
func TestKeysDefinedOnce(t *testing.T) {
	seen := map[string]int{}
	for i, tab := range tables {
		for k := range tab {
			if j, dup := seen[k]; dup {
				t.Errorf("key %s defined in tables %d and %d", k, j, i)
			}
			seen[k] = i
		}
	}
	if len(seen) < 100 || len(Keys()) != len(seen) {
		t.Errorf("%d keys in the tables, Keys gives %d", len(seen), len(Keys()))
	}
}
