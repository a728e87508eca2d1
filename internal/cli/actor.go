package cli

import (
	"mediagate/internal/audit"
	"mediagate/internal/daemonrun"
)

// CurrentActor is who runs this process, as the kernel tells it
// (daemonrun.ProcessActor, which the daemon uses too).
func CurrentActor(procRoot string) audit.Actor { return daemonrun.ProcessActor(procRoot) }
