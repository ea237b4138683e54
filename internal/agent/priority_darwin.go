package agent

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// lowerPriority renices the process (per process on macOS). The launchd
// job's ProcessType=Background and LowPriorityIO throttle its I/O.
func lowerPriority() error {
	if err := unix.Setpriority(unix.PRIO_PROCESS, 0, 10); err != nil {
		return fmt.Errorf("lower priority: %w", err)
	}
	return nil
}
