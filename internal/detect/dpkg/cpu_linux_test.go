package dpkg

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU reports the process's CPU time (user and system, all threads)
// per op since start, which load on a shared machine disturbs less than
// wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
