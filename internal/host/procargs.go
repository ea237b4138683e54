package host

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The darwin process lister reads each process's executable path and
// arguments with sysctl kern.procargs2. The buffer is parsed here, in a
// file every OS compiles, so the parser is tested on Linux.

// ErrProcArgs means a kern.procargs2 buffer is shorter or otherwise other
// than its layout says.
var ErrProcArgs = errors.New("malformed kern.procargs2 buffer")

// Bounds on what one process's arguments may give.
const (
	// maxProcArgs is how many arguments are kept: enough for any command
	// line worth reporting.
	maxProcArgs = 256
	// procArgsAlign is the alignment exec gives the executable path in the
	// string area: the pointer size of every process current macOS runs.
	procArgsAlign = 8
	// executableKey prefixes the path in the kernel's string area;
	// sysctl_procargsx strips it, but a buffer that keeps it is read too.
	executableKey = "executable_path="
)

// ProcArgs is what kern.procargs2 says of a process.
type ProcArgs struct {
	// Exe is the executable's path as given to exec: absolute for
	// everything launchd starts, possibly relative for a process started
	// from a shell with "./x".
	Exe string
	// Args are argv[0] and the arguments, at most maxProcArgs of them.
	Args []string
}

// ParseProcArgs2 parses the buffer sysctl kern.procargs2 returns for a
// process on macOS. Its layout (xnu bsd/kern/kern_sysctl.c
// sysctl_procargsx, bsd/kern/kern_exec.c exec_save_path and
// exec_extract_strings) is:
//
//	argc       int32, native (little-endian on x86_64 and arm64)
//	exec path  NUL-terminated, then NULs up to the next multiple of 8
//	           bytes counted from the path's first byte
//	argv       argc NUL-terminated strings, any of which may be empty
//	envp, apple strings …  (not read)
//
// The arguments start where that layout puts them, not at the first
// non-NUL byte after the path: an empty argv[0] is a lone NUL too. Should
// the padding hold anything but NULs (a layout this parser does not know)
// the arguments are taken from the first non-NUL byte instead. A buffer
// cut short returns what it held with an error wrapping [ErrProcArgs].
func ParseProcArgs2(b []byte) (ProcArgs, error) {
	var pa ProcArgs
	if len(b) < 4 {
		return pa, fmt.Errorf("%w: %d bytes, no argc", ErrProcArgs, len(b))
	}
	argc := int32(binary.LittleEndian.Uint32(b))
	if argc < 0 {
		return pa, fmt.Errorf("%w: argc %d", ErrProcArgs, argc)
	}
	area := b[4:]
	n := bytes.IndexByte(area, 0)
	if n < 0 {
		return pa, fmt.Errorf("%w: executable path is not terminated", ErrProcArgs)
	}
	pa.Exe = string(bytes.TrimPrefix(area[:n], []byte(executableKey)))
	i := (n + 1 + procArgsAlign - 1) / procArgsAlign * procArgsAlign
	if i > len(area) {
		return pa, fmt.Errorf("%w: cut short after the executable path", ErrProcArgs)
	}
	if bytes.IndexFunc(area[n:i], func(r rune) bool { return r != 0 }) >= 0 {
		i = n + 1
		for i < len(area) && area[i] == 0 {
			i++
		}
	}
	want := min(int(argc), maxProcArgs)
	for len(pa.Args) < want {
		end := bytes.IndexByte(area[i:], 0)
		if end < 0 {
			return pa, fmt.Errorf("%w: %d of %d arguments before the end", ErrProcArgs, len(pa.Args), argc)
		}
		pa.Args = append(pa.Args, string(area[i:i+end]))
		i += end + 1
	}
	return pa, nil
}

// commName returns the process name in a kinfo_proc p_comm field: the
// bytes up to the first NUL (MAXCOMLEN, 16, at most).
func commName(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
