//go:build !mediagated_profile

package main

import (
	"fmt"
	"io"
)

// startProfile: this mediagated has no profiler (runtime/pprof and the compression it
// brings are about 150 KB of resident binary pages); build it with the tag
// mediagated_profile for one (profile.go).
func startProfile(file string, stderr io.Writer) (stop func()) {
	if file != "" {
		fmt.Fprintln(stderr, "mediagated: MEDIAGATED_CPUPROFILE ignored: built without the tag mediagated_profile")
	}
	return func() {}
}
