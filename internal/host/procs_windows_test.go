package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

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

// The lister gives what the Toolhelp snapshot it replaced gave, for every
// process alive through both listings: the same pids in the same order,
// names, image paths and command lines.
func TestLiveProcessesMatchToolhelp(t *testing.T) {
	ctx := context.Background()
	theirs, err := toolhelpProcesses()
	if err != nil {
		t.Fatal(err)
	}
	ours, err := newLiveProcesses().Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := toolhelpProcesses()
	if err != nil {
		t.Fatal(err)
	}
	byPID := func(ps []Process) map[int32]Process {
		m := map[int32]Process{}
		for _, p := range ps {
			m[p.PID] = p
		}
		return m
	}
	before, after, mine := byPID(theirs), byPID(again), byPID(ours)
	var stable []int32 // listed the same by both snapshots
	for _, p := range theirs {
		if q, ok := after[p.PID]; ok && q == p {
			stable = append(stable, p.PID)
		}
	}
	var order []int32
	for _, p := range ours {
		if slices.Contains(stable, p.PID) {
			order = append(order, p.PID)
		}
	}
	if !slices.Equal(order, stable) {
		t.Errorf("pids in order %v, Toolhelp %v", order, stable)
	}
	for _, pid := range stable {
		if p, q := mine[pid], before[pid]; p != q {
			t.Errorf("pid %d: %+v, Toolhelp %+v", pid, p, q)
		}
	}
	if len(stable) < 3 {
		t.Errorf("only %d processes compared", len(stable))
	}
	t.Logf("%d processes compared", len(stable))
}

// toolhelpProcesses is the lister as it was, with a Toolhelp snapshot.
func toolhelpProcesses() ([]Process, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(snap)
	var out []Process
	pe := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		p := Process{PID: int32(pe.ProcessID), Name: windows.UTF16ToString(pe.ExeFile[:])}
		if pe.ProcessID != 0 {
			p.Exe, p.Cmdline = readProcess(pe.ProcessID)
		}
		if p.Exe != "" {
			p.Name = filepath.Base(p.Exe)
		}
		out = append(out, p)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return out, err
	}
	return out, nil
}

// A process list whose entries or names point outside what the system
// returned is an error, not a read out of bounds.
func TestParseProcessInfoBounds(t *testing.T) {
	const entry = unsafe.Sizeof(windows.SYSTEM_PROCESS_INFORMATION{})
	mk := func(n int) ([]byte, []*windows.SYSTEM_PROCESS_INFORMATION) {
		raw := make([]uint64, (uintptr(n)*entry+64)/8)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(&raw[0])), len(raw)*8)
		var es []*windows.SYSTEM_PROCESS_INFORMATION
		for i := range n {
			es = append(es, (*windows.SYSTEM_PROCESS_INFORMATION)(unsafe.Pointer(&buf[uintptr(i)*entry])))
		}
		return buf, es
	}
	name := func(buf []byte, at int, s string) windows.NTUnicodeString {
		u := windows.StringToUTF16(s)
		p := (*uint16)(unsafe.Pointer(&buf[at]))
		copy(unsafe.Slice(p, len(u)), u)
		return windows.NTUnicodeString{Length: uint16(2 * (len(u) - 1)), MaximumLength: uint16(2 * len(u)), Buffer: p}
	}

	// Two good entries: the idle process without a name, then avp.exe.
	buf, es := mk(2)
	es[0].NextEntryOffset = uint32(entry)
	es[1].UniqueProcessID = 4
	es[1].ImageName = name(buf, int(2*entry), "avp.exe")
	got, err := parseProcessInfo(buf)
	if want := []sysProc{{0, "[System Process]"}, {4, "avp.exe"}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("good list: %v, %v; want %v", got, err, want)
	}

	for _, tc := range []struct {
		name string
		bad  func(buf []byte, es []*windows.SYSTEM_PROCESS_INFORMATION)
	}{
		{"next past the end", func(buf []byte, es []*windows.SYSTEM_PROCESS_INFORMATION) { es[1].NextEntryOffset = uint32(len(buf)) }},
		{"name past the end", func(buf []byte, es []*windows.SYSTEM_PROCESS_INFORMATION) { es[1].ImageName.Length = uint16(len(buf)) }},
		{"name before the buffer", func(buf []byte, es []*windows.SYSTEM_PROCESS_INFORMATION) {
			other := make([]uint16, 8)
			es[1].ImageName.Buffer = &other[0]
		}},
	} {
		buf, es := mk(2)
		es[0].NextEntryOffset = uint32(entry)
		es[1].UniqueProcessID = 4
		es[1].ImageName = name(buf, int(2*entry), "avp.exe")
		tc.bad(buf, es)
		if got, err := parseProcessInfo(buf); err == nil {
			t.Errorf("%s: %v, no error", tc.name, got)
		}
	}
}
