package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/windows"
)

// liveProcesses lists this machine's processes with one
// NtQuerySystemInformation (pids and names) and, per process, one handle
// for its image path and command line.
//
// Not gopsutil, which costs about three times as many system calls: its
// Name opens the process and asks for its image path, which its Exe then
// asks again, and its command line opens the process a third time and
// reads the PEB out of its memory. Each call is a round trip to the
// kernel, and under Wine to the wineserver. Nor a Toolhelp snapshot,
// which is the same NtQuerySystemInformation copied into a section that
// Process32Next maps and unmaps again for every process: three more
// wineserver requests per process under Wine.
type liveProcesses struct{}

func newLiveProcesses() ProcessLister { return liveProcesses{} }

// Processes returns every process the system lists. A process whose
// image path or command line cannot be read (the System process, another
// user's service when not elevated) is kept with its name only, which the
// processes source leaves out as it has neither path nor command line.
func (liveProcesses) Processes(ctx context.Context) ([]Process, error) {
	entries, err := systemProcesses()
	if err != nil {
		return nil, err
	}
	out := make([]Process, 0, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		p := Process{PID: int32(e.pid), Name: e.name}
		if e.pid != 0 { // the idle process is no process to open
			p.Exe, p.Cmdline = readProcess(e.pid)
		}
		if p.Exe != "" {
			p.Name = filepath.Base(p.Exe) // as the file is spelled, not as it was started
		}
		out = append(out, p)
	}
	return out, nil
}

// sysProc is one process of the system's list: its pid and image name.
type sysProc struct {
	pid  uint32
	name string
}

// maxProcessInfo bounds the buffer asked of SystemProcessInformation: a
// machine with 5,000 processes of 50 threads needs about 25 MiB.
const maxProcessInfo = 64 << 20

// systemProcesses lists the processes with NtQuerySystemInformation's
// SystemProcessInformation, which Toolhelp's snapshot is made of.
func systemProcesses() ([]sysProc, error) {
	size := uint32(256 << 10) // ~300 processes of 10 threads; Wine's few need 30 KiB
	for range 4 {
		buf := make([]uint64, size/8) // the entries are 8-byte aligned
		var need uint32
		err := windows.NtQuerySystemInformation(windows.SystemProcessInformation, unsafe.Pointer(&buf[0]), size, &need)
		switch {
		case err == nil:
			return parseProcessInfo(unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), size))
		case errors.Is(err, windows.STATUS_INFO_LENGTH_MISMATCH) || errors.Is(err, windows.STATUS_BUFFER_TOO_SMALL):
			// Processes start between the calls: ask for some more.
			next := max(uint64(need), uint64(size)*2) + 64<<10
			if next > maxProcessInfo {
				return nil, fmt.Errorf("list processes: more than %d bytes of process information", maxProcessInfo)
			}
			size = uint32(next+7) &^ 7
		default:
			return nil, fmt.Errorf("list processes: %w", err)
		}
	}
	return nil, errors.New("list processes: the process list keeps growing")
}

// parseProcessInfo walks the SYSTEM_PROCESS_INFORMATION entries in buf,
// checking each entry and name lies within it. The fields are read at
// their offsets rather than through the struct: Wine aligns the entries
// on 4 bytes only, and a copy of the struct would hold the system's
// pointers (UniqueProcessKey is a number) where Go keeps pointers.
func parseProcessInfo(buf []byte) ([]sysProc, error) {
	var e windows.SYSTEM_PROCESS_INFORMATION
	var (
		size    = unsafe.Sizeof(e)
		nameLen = unsafe.Offsetof(e.ImageName) + unsafe.Offsetof(e.ImageName.Length)
		nameBuf = unsafe.Offsetof(e.ImageName) + unsafe.Offsetof(e.ImageName.Buffer)
		pidAt   = unsafe.Offsetof(e.UniqueProcessID)
		base    = uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	)
	var out []sysProc
	for off := uintptr(0); ; {
		if off+size > uintptr(len(buf)) {
			return out, fmt.Errorf("list processes: entry at %d: not within the %d bytes returned", off, len(buf))
		}
		ent := buf[off : off+size]
		p := sysProc{pid: uint32(word(ent[pidAt:]))}
		if n, at := uintptr(binary.LittleEndian.Uint16(ent[nameLen:]))&^1, word(ent[nameBuf:]); n > 0 && at != 0 {
			at -= base // the text lies in buf
			if at >= uintptr(len(buf)) || n > uintptr(len(buf))-at {
				return out, fmt.Errorf("list processes: name of pid %d outside the buffer", p.pid)
			}
			u := make([]uint16, n/2)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(buf[at+2*uintptr(i):])
			}
			p.name = windows.UTF16ToString(u)
		} else if p.pid == 0 {
			p.name = "[System Process]" // as Toolhelp names it
		}
		out = append(out, p)
		next := binary.LittleEndian.Uint32(ent)
		if next == 0 {
			return out, nil
		}
		off += uintptr(next)
	}
}

// word reads a pointer-sized little-endian value.
func word(b []byte) uintptr {
	if unsafe.Sizeof(uintptr(0)) == 8 {
		return uintptr(binary.LittleEndian.Uint64(b))
	}
	return uintptr(binary.LittleEndian.Uint32(b))
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
	exe = imagePath(h)
	if cmdline, err = commandLine(h); err != nil {
		// A 32-bit process whose 64-bit parameters cannot be read.
		cmdline, _ = commandLineWow64(h)
	}
	return exe, cmdline
}

// imagePath asks for a process's image path as a Win32 path, with a
// buffer on the stack for the usual lengths.
func imagePath(h windows.Handle) string {
	var buf [windows.MAX_PATH + 1]uint16
	n := uint32(len(buf))
	err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n)
	if err == nil {
		return windows.UTF16ToString(buf[:n])
	}
	if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
		return ""
	}
	long := make([]uint16, windows.MAX_LONG_PATH)
	n = uint32(len(long))
	if windows.QueryFullProcessImageName(h, 0, &long[0], &n) != nil {
		return ""
	}
	return windows.UTF16ToString(long[:n])
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

// commandLineWow64 reads a 32-bit process's command line from its 32-bit
// PEB, as gopsutil did for this lister: the parameters' address at 0x10
// of the PEB32, the command line's UNICODE_STRING32 at 0x40 of the
// RTL_USER_PROCESS_PARAMETERS32.
func commandLineWow64(h windows.Handle) (string, error) {
	var peb32 uintptr
	if err := windows.NtQueryInformationProcess(h, windows.ProcessWow64Information, unsafe.Pointer(&peb32), uint32(unsafe.Sizeof(peb32)), nil); err != nil {
		return "", err
	}
	if peb32 == 0 {
		return "", errors.New("not a 32-bit process")
	}
	var params uint32
	if err := readMemory(h, peb32+0x10, unsafe.Pointer(&params), unsafe.Sizeof(params)); err != nil {
		return "", err
	}
	if params == 0 {
		return "", errors.New("no process parameters")
	}
	var cl struct {
		Length, MaximumLength uint16
		Buffer                uint32
	}
	if err := readMemory(h, uintptr(params)+0x40, unsafe.Pointer(&cl), unsafe.Sizeof(cl)); err != nil {
		return "", err
	}
	if cl.Length < 2 || cl.Buffer == 0 {
		return "", nil
	}
	text := make([]uint16, cl.Length/2)
	if err := readMemory(h, uintptr(cl.Buffer), unsafe.Pointer(&text[0]), uintptr(len(text))*2); err != nil {
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
