// Package pretouch maps in, once when the agent starts, the program's
// own read-only memory: one system call for each of its mappings instead
// of a page fault for every 64 KiB of it.
//
// It exists because page faults, not work, were a third of a one-off
// scan. On the virtual machines that fleets and CI run on, a fault traps
// to the hypervisor and costs 8–9 µs, where MADV_POPULATE_READ (Linux
// 5.14) maps a page that is in the page cache in a fraction of a
// microsecond. The Go runtime and the initialisation of every package
// read nearly all of the program's text, read-only data and function
// tables — about 125 faults of a scan's 740, each mapping up to 64 KiB —
// so mapping all of it at once costs less than faulting in what a run
// reads, and the pages stay shared with the page cache. Programs that
// start often do the same for the same reason: Firefox reads libxul
// ahead before it runs it.
//
// It leaves the rest alone. Populating the heap ahead (MADV_POPULATE_WRITE)
// was measured too and saved nothing: the runtime maps its arena a few
// MiB at a time as it grows, and the scan's heap faults land on the
// other core while sources run. The writable data is left as well: one
// of its mappings holds a 32 MiB buffer of the FIPS random generator
// that nothing touches.
//
// It does its work in its package initialisation, and the command imports
// it for that effect: most of the faults it saves happen while the other
// packages initialise (YAML, X.509, HTTP tables). Go initialises packages
// as their imports allow, the first in import-path order first; this one
// imports only syscall, strconv, bytes and errors, so it runs among the
// first, before those tables. On other systems, and on a Linux kernel
// older than 5.14 (which refuses the advice with EINVAL), it does nothing;
// nothing depends on it but speed. Its cost is reading the whole program
// (10 MiB) from the page cache at each start; from a cold disk it is read
// in one sequential pass rather than page by page as the run asks.
package pretouch

import (
	"bytes"
	"errors"
	"strconv"
)

// wrapped is an error with what it concerns said first: fmt, which
// would say it, initialises after os, and this package must not wait
// for either (see the package comment).
type wrapped struct {
	what string
	err  error
}

func (e *wrapped) Error() string { return e.what + ": " + e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }

// mapping is one line of /proc/PID/maps.
type mapping struct {
	lo, hi uintptr
	perms  [4]byte // "r-xp"
	path   []byte  // empty for anonymous memory; in the listing read
}

// region is a range of addresses to populate.
type region struct {
	lo, hi uintptr
}

// errBadMaps means a line of /proc/PID/maps does not have the kernel's
// layout.
var errBadMaps = errors.New("malformed memory map line")

// parseMaps reads the lines of a /proc/PID/maps listing:
//
//	00400000-00c00000 r-xp 00000000 fe:00 1234    /usr/bin/avscout
//
// A last line without its newline (a listing cut by the buffer it was
// read into) is left out.
func parseMaps(b []byte) ([]mapping, error) {
	maps := make([]mapping, 0, 64)
	for n := 1; ; n++ {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return maps, nil
		}
		line := b[:nl]
		b = b[nl+1:]
		m, err := parseMapsLine(line)
		if err != nil {
			return maps, &wrapped{"line " + strconv.Itoa(n), err}
		}
		maps = append(maps, m)
	}
}

func parseMapsLine(line []byte) (mapping, error) {
	// address perms offset dev inode [path]; the path is the rest of the
	// line: it may hold spaces, and ends in " (deleted)" once the file is
	// replaced (an upgrade).
	var fields [5][]byte
	rest := line
	for i := range fields {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		fields[i], rest = rest[:end], rest[end:]
		if len(fields[i]) == 0 {
			return mapping{}, errBadMaps
		}
	}
	lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
	if !ok {
		return mapping{}, errBadMaps
	}
	var m mapping
	var okLo, okHi bool
	m.lo, okLo = parseHex(lo)
	m.hi, okHi = parseHex(hi)
	if !okLo || !okHi || m.hi < m.lo || len(fields[1]) != len(m.perms) {
		return mapping{}, errBadMaps
	}
	copy(m.perms[:], fields[1])
	m.path = bytes.Trim(rest, " ")
	return m, nil
}

func parseHex(b []byte) (uintptr, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	if uint64(uintptr(v)) != v {
		return 0, false
	}
	return uintptr(v), true
}

// plan chooses what to populate in maps: every read-only mapping of the
// program file, the file of the mapping that holds the address image (a
// variable of the program's initialised data). It chooses nothing when
// no file mapping holds image.
func plan(maps []mapping, image uintptr) []region {
	var program []byte
	for _, m := range maps {
		if m.lo <= image && image < m.hi {
			program = m.path
		}
	}
	if len(program) == 0 {
		return nil
	}
	var out []region
	for _, m := range maps {
		if bytes.Equal(m.path, program) && m.perms[0] == 'r' && m.perms[1] == '-' {
			out = append(out, region{m.lo, m.hi})
		}
	}
	return out
}
