// Package pretouch maps in, once when the agent starts, the memory the
// run is about to touch: one system call per region instead of a page
// fault per page.
//
// It exists because page faults, not work, were a third of a one-off
// scan. On the virtual machines that fleets and CI run on, a fault traps
// to the hypervisor and costs 8–9 µs, where MADV_POPULATE_READ and
// MADV_POPULATE_WRITE (Linux 5.14) map a page in well under 1 µs. The
// first touch of a populated page still costs there, as the hypervisor
// maps it for itself: about 1 µs for a page of the program, 5 µs for a
// fresh anonymous one (against 2-3 µs and 12 µs unpopulated; a C loop
// over 16 MiB). So it saves the guest's half of each fault, not the
// whole. A scan of a Debian host faulted about 740 times, some 6.5 ms
// of a 20 ms run:
//   - the Go runtime and the initialisation of every package read nearly
//     all of the program's text, read-only data and function tables (each
//     fault maps up to 64 KiB of them). They are populated for reading:
//     they stay shared with the page cache, nothing is copied.
//   - the heap: about 420 fresh pages, most of them within the 3 MiB that
//     start just below the heap's first allocations in this package's
//     initialisation. Those are populated for writing, as zero pages,
//     as far as the runtime has mapped its arena by then (it maps a few
//     MiB at a time); what the heap takes beyond faults in as before.
//
// Programs that start often do the same for the same reasons: Firefox
// reads libxul ahead before it runs it, and the JVM's AlwaysPreTouch maps
// its heap in at start.
//
// It leaves the writable data alone (one of its mappings holds a 32 MiB
// buffer of the FIPS random generator that nothing touches), and the
// runtime's own bookkeeping mappings, some of them tens of MiB reserved
// for a few pages used.
//
// It starts its work in its package initialisation, and the command
// imports it for that effect: most of the faults it saves happen while the
// other packages initialise (YAML, X.509, HTTP tables). Where the program
// may use two processors, the work runs on a goroutine of its own, on
// the second one, while the initialisation goes on. Go initialises
// packages as their imports allow, the first in import-path order first.
// This one imports only runtime and unsafe, and makes its few system
// calls itself (rawSyscall6, in assembly), so it is ready as soon as the
// runtime is: the sixth package initialised, about 1.1 ms after the
// runtime starts. When it imported syscall, strconv and bytes it waited
// for them and for every package before them in that order, and started
// at 2.9 ms, after some 20 others (godebug and os among them) had faulted
// their pages in: a live scan took 0.7-1.5 ms and `avscout version`
// 0.6 ms longer (medians of 300 alternated runs).
//
// On other systems, on Linux on processors other than amd64 and arm64,
// and on a Linux kernel older than 5.14 (which refuses the advice with
// EINVAL), it does nothing; nothing depends on it but speed. Its costs:
// reading the whole program (10 MiB) from the page cache at each start
// (from a cold disk, in one sequential pass rather than page by page as
// the run asks), and up to 3 MiB of zero pages the heap may not all use.
package pretouch

// wrapped is an error with what it concerns said first: fmt, which
// would say it, initialises after os, and this package must not wait
// for either (see the package comment). The helpers at the end stand in
// for errors, strconv and bytes for the same reason.
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

// region is a range of addresses to populate, and how.
type region struct {
	lo, hi uintptr
	advice advice
}

// advice is a madvise(2) advice: the values of Linux's
// asm-generic/mman-common.h, which every architecture Go supports on
// Linux shares for these two.
type advice int

const (
	populateRead  advice = 22 // MADV_POPULATE_READ
	populateWrite advice = 23 // MADV_POPULATE_WRITE
)

func (a advice) String() string {
	switch a {
	case populateRead:
		return "populate-read"
	case populateWrite:
		return "populate-write"
	}
	return "advice " + itoa(uint64(a), 10)
}

// Heap window: from heapBelow under the first allocation this package
// sees, heapBytes in all. Allocations of the packages initialised after
// it land below it as well as above (the runtime takes the lowest free
// pages first, and earlier spans have room), and a live scan's heap
// spreads over about 2.6 MiB.
const (
	heapBelow = 256 << 10
	heapBytes = 3 << 20
)

// errBadMaps means a line of /proc/PID/maps does not have the kernel's
// layout.
var errBadMaps error = errorString("malformed memory map line")

// parseMaps reads the lines of a /proc/PID/maps listing:
//
//	00400000-00c00000 r-xp 00000000 fe:00 1234    /usr/bin/avscout
//
// A last line without its newline (a listing cut by the buffer it was
// read into) is left out.
func parseMaps(b []byte) ([]mapping, error) {
	maps := make([]mapping, 0, 64)
	for n := 1; ; n++ {
		nl := indexByte(b, '\n')
		if nl < 0 {
			return maps, nil
		}
		line := b[:nl]
		b = b[nl+1:]
		m, err := parseMapsLine(line)
		if err != nil {
			return maps, &wrapped{"line " + itoa(uint64(n), 10), err}
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
		rest = trimLeftSpace(rest)
		end := indexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		fields[i], rest = rest[:end], rest[end:]
		if len(fields[i]) == 0 {
			return mapping{}, errBadMaps
		}
	}
	dash := indexByte(fields[0], '-')
	if dash < 0 {
		return mapping{}, errBadMaps
	}
	var m mapping
	var okLo, okHi bool
	m.lo, okLo = parseHex(fields[0][:dash])
	m.hi, okHi = parseHex(fields[0][dash+1:])
	if !okLo || !okHi || m.hi < m.lo || len(fields[1]) != len(m.perms) {
		return mapping{}, errBadMaps
	}
	copy(m.perms[:], fields[1])
	m.path = trimRightSpace(trimLeftSpace(rest))
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

// plan chooses what to populate in maps:
//   - every read-only mapping of the program file, the file of the
//     mapping that holds the address image (a variable of the program's
//     initialised data), for reading;
//   - the heap window around heap (a fresh heap allocation) within the
//     writable anonymous mapping that holds it, for writing, starting at
//     a multiple of align (a power of two, at least the page size).
//
// It chooses nothing it cannot place.
func plan(maps []mapping, image, heap, align uintptr) []region {
	var program []byte
	for _, m := range maps {
		if m.lo <= image && image < m.hi {
			program = m.path
		}
	}
	var out []region
	for _, m := range maps {
		switch {
		case len(program) > 0 && string(m.path) == string(program) && m.perms[0] == 'r' && m.perms[1] == '-':
			out = append(out, region{m.lo, m.hi, populateRead})
		case m.lo <= heap && heap < m.hi && len(m.path) == 0 && m.perms[0] == 'r' && m.perms[1] == 'w':
			page := heap &^ (align - 1)
			lo := m.lo
			if page-m.lo > heapBelow {
				lo = page - heapBelow
			}
			out = append(out, region{lo, min(m.hi, lo+heapBytes), populateWrite})
		}
	}
	return out
}

// errorString is the error of errors.New.
type errorString string

func (e errorString) Error() string { return string(e) }

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimLeftSpace(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

func trimRightSpace(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// itoa formats v in base, 10 or 16.
func itoa(v, base uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = "0123456789abcdef"[v%base]
		v /= base
		if v == 0 {
			return string(b[i:])
		}
	}
}
