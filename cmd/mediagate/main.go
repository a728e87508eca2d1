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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
