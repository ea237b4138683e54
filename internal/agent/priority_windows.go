package agent

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// processModeBackgroundBegin lowers the process's CPU, I/O and memory
// priority (SetPriorityClass, PROCESS_MODE_BACKGROUND_BEGIN).
const processModeBackgroundBegin = 0x00100000

func lowerPriority() error {
	if err := windows.SetPriorityClass(windows.CurrentProcess(), processModeBackgroundBegin); err != nil {
		// Older or emulated systems may refuse background mode; below
		// normal is the next best thing.
		if err2 := windows.SetPriorityClass(windows.CurrentProcess(), windows.BELOW_NORMAL_PRIORITY_CLASS); err2 != nil {
			return fmt.Errorf("lower priority: %w", err2)
		}
	}
	return nil
}
