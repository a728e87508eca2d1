//go:build mediagated_profile

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"
)

// startProfile starts a CPU profile of the whole run into file (where the time goes
// in the test guest: scripts/bench-usbguard.sh --profile builds mediagated with the
// tag mediagated_profile) and returns what stops it. MEDIAGATED_CPUPROFILE_HZ sets
// the sampling rate (default 100; start-up is a few hundred samples at 1000), and
// MEDIAGATED_CPUPROFILE_SECONDS ends the profile that long after the start (start-up
// alone, without the plugs).
func startProfile(file string, stderr io.Writer) (stop func()) {
	if file == "" {
		return func() {}
	}
	if hz, err := strconv.Atoi(os.Getenv("MEDIAGATED_CPUPROFILE_HZ")); err == nil && hz > 0 {
		// Set before StartCPUProfile, which then keeps it (and warns that it cannot
		// set its own 100 Hz).
		runtime.SetCPUProfileRate(hz)
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
	var once sync.Once
	stop = func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }
	if s, err := strconv.ParseFloat(os.Getenv("MEDIAGATED_CPUPROFILE_SECONDS"), 64); err == nil && s > 0 {
		time.AfterFunc(time.Duration(s*float64(time.Second)), stop)
	}
	return stop
}
