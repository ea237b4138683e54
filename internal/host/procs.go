//go:build !darwin && !windows

package host

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// liveProcesses lists this machine's processes from /proc.
type liveProcesses struct{ proc string }

func newLiveProcesses() ProcessLister { return liveProcesses{proc: "/proc"} }

// Processes returns every process it can see. A process that exits while
// being read, or whose name is denied, is left out; one whose executable or
// command line is denied is kept with what could be read.
//
// Each process costs three reads — comm, the exe link and cmdline — which
// is all a scan needs: gopsutil, used before, parsed the whole status file
// for the name and read cmdline twice for long names.
func (l liveProcesses) Processes(ctx context.Context) ([]Process, error) {
	dir, err := os.Open(l.proc)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil, fmt.Errorf("list processes: %s: %w", l.proc, err)
	}
	out := make([]Process, 0, len(names))
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		pid, err := strconv.ParseInt(n, 10, 32)
		if err != nil || pid <= 0 {
			continue // not a process folder
		}
		base := l.proc + "/" + n
		comm, err := os.ReadFile(base + "/comm")
		if err != nil {
			continue // gone, or a process we may not read at all
		}
		exe, _ := os.Readlink(base + "/exe")
		cmdline, _ := readCapped(base+"/cmdline", maxCmdline)
		args := splitCmdline(cmdline)
		out = append(out, Process{
			PID:     int32(pid),
			Name:    processName(strings.TrimSuffix(string(comm), "\n"), args),
			Exe:     exe, // " (deleted)" kept: the source reports it
			Cmdline: strings.Join(args, " "),
		})
	}
	return out, nil
}

// maxCmdline bounds the command line read of one process. Any user may
// start processes whose arguments fill megabytes (a raised stack limit
// lets argv reach 6 MiB each); a thousand such would cost the scan
// gigabytes. Programs and their first arguments come first.
const maxCmdline = 64 << 10

// readCapped reads at most max bytes of the file name.
func readCapped(name string, max int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 0, 4096)
	for len(b) < max {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):min(cap(b), max)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// splitCmdline splits /proc/PID/cmdline, NUL-separated arguments.
func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	parts := bytes.Split(b, []byte{0})
	args := make([]string, len(parts))
	for i, p := range parts {
		args[i] = string(p)
	}
	return args
}

// processName is the kernel's name of a process (comm), completed from
// the command line when the kernel cut it at 15 bytes: "kav4proxy-kavic"
// for kav4proxy-kavicapserver.
func processName(comm string, args []string) string {
	const commLen = 15 // TASK_COMM_LEN - 1
	if len(comm) < commLen || len(args) == 0 {
		return comm
	}
	if full := path.Base(strings.Fields(args[0] + " ")[0]); strings.HasPrefix(full, comm) {
		return full
	}
	return comm
}
