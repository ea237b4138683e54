package host

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// The live process list (Wine's under scripts/go_windows_amd64_exec) has
// this test binary with its image path, name and command line, and a
// process that the lister cannot open keeps at least its name.
func TestLiveProcessesWindows(t *testing.T) {
	procs, err := newLiveProcesses().Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var me *Process
	for i, p := range procs {
		if p.Name == "" {
			t.Errorf("process %d has no name", p.PID)
		}
		if int(p.PID) == os.Getpid() {
			me = &procs[i]
		}
	}
	if me == nil {
		t.Fatalf("pid %d is not among the %d processes", os.Getpid(), len(procs))
	}
	if !strings.EqualFold(me.Exe, self) || !strings.EqualFold(me.Name, self[strings.LastIndexByte(self, '\\')+1:]) {
		t.Errorf("this process: name %q, exe %q; want exe %q", me.Name, me.Exe, self)
	}
	if !strings.Contains(me.Cmdline, "-test.") {
		t.Errorf("this process's command line %q lacks its -test flags", me.Cmdline)
	}
	// Read by avscout's own means, not by gopsutil's fallback.
	if cl, err := commandLine(windows.CurrentProcess()); err != nil || cl != me.Cmdline {
		t.Errorf("command line: %q, %v; want %q", cl, err, me.Cmdline)
	}
	// Each of its two ways, whichever the listing took: in one call where
	// this Windows has ProcessCommandLineInformation, and through the PEB.
	if cl, err := commandLineInfo(windows.CurrentProcess()); errors.Is(err, windows.STATUS_INVALID_INFO_CLASS) || errors.Is(err, windows.STATUS_NOT_IMPLEMENTED) {
		t.Logf("no ProcessCommandLineInformation here: %v", err)
	} else if err != nil || cl != me.Cmdline {
		t.Errorf("command line from ProcessCommandLineInformation: %q, %v; want %q", cl, err, me.Cmdline)
	}
	was := noCommandLineInfo.Swap(true)
	defer noCommandLineInfo.Store(was)
	if cl, err := commandLine(windows.CurrentProcess()); err != nil || cl != me.Cmdline {
		t.Errorf("command line from the PEB: %q, %v; want %q", cl, err, me.Cmdline)
	}
}
