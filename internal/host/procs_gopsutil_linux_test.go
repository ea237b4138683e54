//go:build linux

package host

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v3/process"
)

// The /proc lister gives what gopsutil, which it replaced on Linux, gives
// for the same processes: the same pids (but kernel threads, which run no
// program and which it leaves out), and for each process alive and the
// same before and after both listings the same executable and command line, and the
// same name wherever gopsutil's name is the kernel's (shorter than 15
// bytes) or the test's own process with a long name.
func TestLiveProcessesMatchGopsutil(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "kesl-supervisor-daemon") // longer than the 15 bytes the kernel keeps
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatalf("this test copies /bin/sleep: %v", err)
	}
	if err := os.WriteFile(exe, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "60", "1") // sleep sums its arguments
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(50 * time.Millisecond) // let exec finish so /proc shows the new image

	ctx := context.Background()
	before := pidSet(t)
	ours, err := newLiveProcesses().Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	theirs := map[int32]Process{}
	gps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, gp := range gps {
		p := Process{PID: gp.Pid}
		var err error
		if p.Name, err = gp.NameWithContext(ctx); err != nil {
			continue // gone
		}
		p.Exe, _ = gp.ExeWithContext(ctx)
		args, _ := gp.CmdlineSliceWithContext(ctx)
		p.Cmdline = strings.Join(args, " ")
		theirs[p.PID] = p
	}
	after := pidSet(t)

	compared, found := 0, false
	for _, p := range ours {
		if !alive(before, after, p.PID) {
			continue
		}
		q, ok := theirs[p.PID]
		if !ok {
			t.Errorf("pid %d (%s) listed, not by gopsutil", p.PID, p.Name)
			continue
		}
		compared++
		if p.Exe != q.Exe || p.Cmdline != q.Cmdline {
			t.Errorf("pid %d: exe %q cmdline %q, gopsutil %q %q", p.PID, p.Exe, p.Cmdline, q.Exe, q.Cmdline)
		}
		if (len(q.Name) < 15 || int(p.PID) == cmd.Process.Pid) && p.Name != q.Name {
			t.Errorf("pid %d: name %q, gopsutil %q", p.PID, p.Name, q.Name)
		}
		if int(p.PID) == cmd.Process.Pid {
			found = true
			if p.Name != "kesl-supervisor-daemon" || p.Exe != exe || p.Cmdline != exe+" 60 1" {
				t.Errorf("the test's process = %+v", p)
			}
		}
	}
	for pid, q := range theirs {
		// A kernel thread runs no program: ours leaves it out.
		if q.Exe != "" && alive(before, after, pid) && !containsPID(ours, pid) {
			t.Errorf("pid %d (%s) listed by gopsutil only", pid, q.Name)
		}
	}
	if !found {
		t.Errorf("the test's process %d is not listed", cmd.Process.Pid)
	}
	t.Logf("%d processes compared", compared)
}

// pidSet returns the pids /proc lists now, each with its start time,
// executable and command line, leaving out zombies: a process that exits
// during the listings has no executable or command line for whichever
// lister comes last, and one that execs (a shell starting a compiler)
// keeps its pid and start time but not its image.
func pidSet(t *testing.T) map[int32]string {
	t.Helper()
	pids, err := process.Pids()
	if err != nil {
		t.Fatal(err)
	}
	set := make(map[int32]string, len(pids))
	for _, p := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(int(p)) + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		dir := "/proc/" + strconv.Itoa(int(p))
		exe, _ := os.Readlink(dir + "/exe")
		cmdline, _ := os.ReadFile(dir + "/cmdline")
		// starttime: a pid reused meanwhile is another process.
		set[p] = f[19] + "\x00" + exe + "\x00" + string(cmdline)
	}
	return set
}

// alive reports whether pid ran the same process, with the same image and
// arguments, in both sets.
func alive(before, after map[int32]string, pid int32) bool {
	s, ok := before[pid]
	return ok && after[pid] == s
}

func containsPID(ps []Process, pid int32) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}
