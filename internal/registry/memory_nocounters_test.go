//go:build !memory.counters

package registry

const memoryCounters = false
