//go:build mediagated_profile

package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// startProfile starts a CPU profile of the whole run into file (where the time goes
// in the test guest: scripts/bench-usbguard.sh --profile builds mediagated with the
// tag mediagated_profile) and returns what stops it.
func startProfile(file string, stderr io.Writer) (stop func()) {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(stderr, "mediagated: cpu profile:", err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
