package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/shirou/gopsutil/v3/process"
	"golang.org/x/sys/windows"
)

// liveProcesses lists this machine's processes with one Toolhelp snapshot
// (pids and names) and, per process, one handle for its image path and
// command line.
//
// Not gopsutil, which costs about three times as many system calls: its
// Name opens the process and asks for its image path, which its Exe then
// asks again, and its command line opens the process a third time and
// reads the PEB out of its memory. Each call is a round trip to the
// kernel, and under Wine to the wineserver.
type liveProcesses struct{}

func newLiveProcesses() ProcessLister { return liveProcesses{} }

// Processes returns every process the snapshot lists. A process whose
// image path or command line cannot be read (the System process, another
// user's service when not elevated) is kept with its name only, which the
// processes source leaves out as it has neither path nor command line.
func (liveProcesses) Processes(ctx context.Context) ([]Process, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer windows.CloseHandle(snap)
	var out []Process
	pe := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		p := Process{PID: int32(pe.ProcessID), Name: windows.UTF16ToString(pe.ExeFile[:])}
		if pe.ProcessID != 0 { // the idle process is no process to open
			p.Exe, p.Cmdline = readProcess(pe.ProcessID)
		}
		if p.Exe != "" {
			p.Name = filepath.Base(p.Exe) // as the file is spelled, not as it was started
		}
		out = append(out, p)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return out, fmt.Errorf("list processes: %w", err)
	}
	return out, nil
}

// readProcess returns a process's image path and command line, each empty
// when it cannot be read.
func readProcess(pid uint32) (exe, cmdline string) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_VM_READ, false, pid)
	if err != nil {
		// Not our memory to read: the image path may still be ours to ask.
		if h, err = windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid); err != nil {
			return "", ""
		}
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	if n := uint32(len(buf)); windows.QueryFullProcessImageName(h, 0, &buf[0], &n) == nil {
		exe = windows.UTF16ToString(buf[:n])
	}
	if cmdline, err = commandLine(h); err != nil {
		// A 32-bit process whose 64-bit parameters cannot be read:
		// gopsutil reads its 32-bit PEB.
		args, _ := (&process.Process{Pid: int32(pid)}).CmdlineSlice()
		cmdline = strings.Join(args, " ")
	}
	return exe, cmdline
}

// noCommandLineInfo is set once ProcessCommandLineInformation turned out
// to be unknown (before Windows 8.1, and in Wine 8.0), so that it is asked once.
var noCommandLineInfo atomic.Bool

// commandLine reads a process's command line: in one call with
// ProcessCommandLineInformation where Windows has it, else from the
// process's parameters through its PEB, in four.
func commandLine(h windows.Handle) (string, error) {
	if !noCommandLineInfo.Load() {
		s, err := commandLineInfo(h)
		if !errors.Is(err, windows.STATUS_INVALID_INFO_CLASS) && !errors.Is(err, windows.STATUS_NOT_IMPLEMENTED) {
			return s, err
		}
		noCommandLineInfo.Store(true)
	}
	var pbi windows.PROCESS_BASIC_INFORMATION
	if err := windows.NtQueryInformationProcess(h, windows.ProcessBasicInformation, unsafe.Pointer(&pbi), uint32(unsafe.Sizeof(pbi)), nil); err != nil {
		return "", err
	}
	if pbi.PebBaseAddress == nil {
		return "", errors.New("no PEB")
	}
	var params uintptr
	peb := uintptr(unsafe.Pointer(pbi.PebBaseAddress)) // another process's address: never dereferenced
	if err := readMemory(h, peb+unsafe.Offsetof(windows.PEB{}.ProcessParameters), unsafe.Pointer(&params), unsafe.Sizeof(params)); err != nil {
		return "", err
	}
	if params == 0 {
		return "", errors.New("no process parameters")
	}
	var cl windows.NTUnicodeString
	if err := readMemory(h, params+unsafe.Offsetof(windows.RTL_USER_PROCESS_PARAMETERS{}.CommandLine), unsafe.Pointer(&cl), unsafe.Sizeof(cl)); err != nil {
		return "", err
	}
	if cl.Length == 0 || cl.Buffer == nil {
		return "", nil
	}
	text := make([]uint16, cl.Length/2)
	if err := readMemory(h, uintptr(unsafe.Pointer(cl.Buffer)), unsafe.Pointer(&text[0]), uintptr(len(text))*2); err != nil {
		return "", err
	}
	return windows.UTF16ToString(text), nil
}

// readMemory reads exactly size bytes at addr in the process h into dst.
func readMemory(h windows.Handle, addr uintptr, dst unsafe.Pointer, size uintptr) error {
	var n uintptr
	if err := windows.ReadProcessMemory(h, addr, (*byte)(dst), size, &n); err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("read %d of %d bytes", n, size)
	}
	return nil
}

// commandLineInfo asks for ProcessCommandLineInformation: a
// UNICODE_STRING followed by the text it points at.
func commandLineInfo(h windows.Handle) (string, error) {
	buf := make([]byte, 1024)
	for range 3 {
		var n uint32
		err := windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation, unsafe.Pointer(&buf[0]), uint32(len(buf)), &n)
		switch {
		case err == nil:
			us := (*windows.NTUnicodeString)(unsafe.Pointer(&buf[0]))
			if us.Length == 0 || us.Buffer == nil {
				return "", nil
			}
			return windows.UTF16ToString(unsafe.Slice(us.Buffer, us.Length/2)), nil
		case (errors.Is(err, windows.STATUS_INFO_LENGTH_MISMATCH) || errors.Is(err, windows.STATUS_BUFFER_TOO_SMALL) ||
			errors.Is(err, windows.STATUS_BUFFER_OVERFLOW)) && n > uint32(len(buf)) && n <= 1<<20:
			buf = make([]byte, n)
		default:
			return "", err
		}
	}
	return "", errors.New("command line keeps changing size")
}
