package agent

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	niceBackground   = 10
	ioprioWhoProcess = 1
	ioprioClassIdle  = 3
	ioprioClassShift = 13
)

// lowerPriority renices every thread of the process: on Linux the nice
// value and the I/O priority belong to threads, and threads the Go runtime
// starts later inherit them from the thread that starts them.
func lowerPriority() error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("lower priority: %w", err)
	}
	var errs []error
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, niceBackground); err != nil {
			errs = append(errs, fmt.Errorf("nice thread %d: %w", tid, err))
		}
		prio := ioprioClassIdle << ioprioClassShift
		if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), uintptr(prio)); e != 0 {
			errs = append(errs, fmt.Errorf("ioprio thread %d: %w", tid, e))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lower priority: %w", err)
	}
	return nil
}
