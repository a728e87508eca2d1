// Command mediagate controls removable storage media on classified Linux hosts: the
// media register, the host profile, the audit log and (as `mediagate daemon`) the
// enforcement service. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"mediagate/internal/cli"
)

func main() {
	// Ctrl-C or SIGTERM cancels the command: its change is rolled back and it exits
	// 130 (the daemon and `checkin watch` stop cleanly with 0). A second signal, once
	// the first has been seen, kills the process the default way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
