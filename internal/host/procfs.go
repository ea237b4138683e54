package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/avscout/avscout/internal/errlist"
)

// The Linux process lister reads /proc. The walk and the parsers are here,
// in a file every OS compiles, so that they run on recorded /proc trees
// (fs.FS) in tests; the Linux adapter only supplies raw reads.

// ErrProcStat means a /proc/<pid>/stat file is not the one line the kernel
// writes: "pid (comm) state ppid … flags …".
var ErrProcStat = errors.New("malformed /proc stat")

// Bounds on what is read of one process.
const (
	// maxCmdline bounds the command line read of one process. Any user may
	// start processes whose arguments fill megabytes (a raised stack limit
	// lets argv reach 6 MiB each); a thousand such would cost the scan
	// gigabytes. Programs and their first arguments come first.
	maxCmdline = 64 << 10
	// maxStat bounds a stat file: the kernel's line is about 300 bytes
	// (a 64-byte name and 52 numbers).
	maxStat = 4 << 10
	// maxProcErrors is how many malformed entries a listing names.
	maxProcErrors = 5
	// maxTasks bounds the threads looked at of a process whose main
	// thread has exited: the first one almost always answers.
	maxTasks = 64
)

// Task flags and states of /proc/<pid>/stat (include/linux/sched.h).
const (
	// pfKthread marks a kernel thread: no executable, no command line.
	pfKthread = 0x00200000
)

// procStat is what the lister takes from /proc/<pid>/stat.
type procStat struct {
	Comm    string // the kernel's name: 15 bytes of a program's, up to 64 of a kernel thread's
	State   byte   // R, S, D, Z (zombie), X (dead), …
	Flags   uint64 // PF_* task flags
	Threads int    // num_threads; 0 when the line stops before it
}

// parseProcStat parses the content of /proc/<pid>/stat. The name sits
// between the first "(" and the last ")": it may itself hold spaces,
// parentheses and newlines, the fields after it never a ")".
func parseProcStat(b []byte) (procStat, error) {
	var s procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return s, fmt.Errorf("%w: no (name)", ErrProcStat)
	}
	s.Comm = string(b[open+1 : end])
	// After the name: state ppid pgrp session tty_nr tpgid flags …
	rest := b[end+1:]
	var field [7][]byte
	for i := range field {
		rest = bytes.TrimLeft(rest, " ")
		n := bytes.IndexAny(rest, " \n")
		if n < 0 {
			n = len(rest)
		}
		if n == 0 {
			return s, fmt.Errorf("%w: %d fields after the name, want at least %d", ErrProcStat, i, len(field))
		}
		field[i], rest = rest[:n], rest[n:]
	}
	if len(field[0]) != 1 {
		return s, fmt.Errorf("%w: state %.10q", ErrProcStat, field[0])
	}
	s.State = field[0][0]
	flags, err := strconv.ParseUint(string(field[6]), 10, 64)
	if err != nil {
		return s, fmt.Errorf("%w: flags %.24q", ErrProcStat, field[6])
	}
	s.Flags = flags
	// num_threads is the 18th field after the name; the fields between
	// are counters, skipped unread.
	for i := len(field); i < 17; i++ {
		rest = bytes.TrimLeft(rest, " ")
		n := bytes.IndexAny(rest, " \n")
		if n <= 0 {
			return s, nil
		}
		rest = rest[n:]
	}
	rest = bytes.TrimLeft(rest, " ")
	n := bytes.IndexAny(rest, " \n")
	if n < 0 {
		n = len(rest)
	}
	if t, err := strconv.Atoi(string(rest[:n])); err == nil && t >= 0 {
		s.Threads = t
	}
	return s, nil
}

// procReader reads the entries of one proc filesystem, with paths relative
// to its root ("42/stat").
type procReader interface {
	// pids returns the names in the root that are process ids.
	pids() ([]string, error)
	// read reads name into buf[:cap(buf)], up to its end or until buf is
	// full, and returns what it read.
	read(name string, buf []byte) ([]byte, error)
	// readlink returns the target of the symbolic link name.
	readlink(name string) (string, error)
	// readAll is read for a file the kernel writes a page at a time: it
	// reads until the end or until buf is full, however many reads that
	// takes.
	readAll(name string, buf []byte) ([]byte, error)
	// tasks returns the thread ids of process pid (the names in
	// "<pid>/task"), at most maxTasks of them.
	tasks(pid string) ([]string, error)
}

// listProcs lists the processes of r that run a program. Each costs one
// readlink of its executable, then one read of its stat file and one of
// its command line: the path, name and arguments a scan reports, and
// nothing it does not.
//
// A kernel thread has no executable (readlink says it does not exist),
// and costs the readlink alone: on a server most entries of /proc are
// kernel threads, and reading their stat files took half of the listing's
// time (63 of 71 processes on a VM: 0.74 ms, 0.33 ms without). They are
// told by kthreadd's list of its children (see [kernelThreads]), read
// once, or else by the flag in their stat. Any other entry without an
// executable costs its stat too: a zombie is left out, but a running
// program whose main thread has exited (ps shows "Zl", "[name] <defunct>")
// is listed with the executable and command line of a thread still
// running (see [fromThread]). A daemon that ends main with pthread_exit
// looks so, and was missed.
//
// A process that exits while being read, or whose stat is denied, is
// left out; one whose executable or command line is denied is kept with
// what could be read. A stat the kernel would not write leaves the
// process out and is named in the returned error, along with what was
// listed.
func listProcs(ctx context.Context, r procReader) ([]Process, error) {
	names, err := r.pids()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	bad := errlist.List{Max: maxProcErrors, What: "malformed process entries"}
	stat := make([]byte, 0, maxStat)
	cmd := make([]byte, 0, maxCmdline) // one buffer for every process
	var key []byte                     // "<pid>/<file>", rebuilt per read
	out := make([]Process, 0, len(names))
	var kernel map[string]bool // made when an executable is first missing
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		pid, err := strconv.ParseInt(n, 10, 32)
		if err != nil || pid <= 0 {
			continue // not a process folder
		}
		key = append(append(key[:0], n...), "/exe"...)
		exe, err := r.readlink(string(key)) // " (deleted)" kept: the source reports it
		missing := errors.Is(err, fs.ErrNotExist)
		if missing {
			// A kernel thread, a zombie, gone, or a program running on
			// without its main thread.
			if kernel == nil {
				kernel = kernelThreads(r, stat[:0], cmd[:0])
			}
			if kernel[n] {
				continue
			}
		}
		key = append(append(key[:0], n...), "/stat"...)
		stat, err = r.read(string(key), stat[:0])
		if err != nil {
			continue // gone, or a process we may not read at all
		}
		st, err := parseProcStat(stat)
		if err != nil {
			bad.Add(fmt.Errorf("%s: %w", key, err))
			continue
		}
		// Exe is "" when denied; and the process may have exited since.
		p := Process{PID: int32(pid), Name: st.Comm, Exe: exe}
		exited := st.State == 'Z' || st.State == 'X' // its main thread, at least
		switch {
		case st.Flags&pfKthread != 0:
			continue // a kernel thread whose exe was denied, or not in kthreadd's list
		case st.Threads > 1 && (missing || exited):
			// The main thread has exited (its exe missing for root, denied
			// for others): the image is a running thread's.
			var ok bool
			if p, ok = fromThread(r, n, p, cmd[:0]); !ok {
				continue
			}
		case missing || exited:
			continue // a zombie, or gone
		default:
			key = append(append(key[:0], n...), "/cmdline"...)
			cmd, _ = r.read(string(key), cmd[:0]) // what was read before an error is kept
			p.Cmdline = joinCmdline(cmd)
			p.Name = processName(p.Name, cmd)
		}
		out = append(out, p)
	}
	return out, bad.Err()
}

// kthreadd is the kernel's thread that starts every other kernel thread:
// pid 2 since Linux 2.6.22.
const kthreadd = "2"

// kernelThreads returns the kernel's threads as /proc names them: kthreadd
// and its children, which it lists in <pid>/task/<pid>/children (Linux
// 3.5, CONFIG_PROC_CHILDREN, which Debian, Ubuntu, RHEL and Fedora
// kernels build). Its children are kernel threads but for the odd user
// helper the kernel starts (modprobe, a core dump pipe), which runs a
// program and so has an executable link and is never asked about. When
// the list cannot be read, or pid 2 is no kernel thread (a PID namespace)
// or its stat is malformed, it returns an empty set: every entry without
// an executable is then told by its own stat. A list cut at cap(buf)
// leaves the pids after the cut to their stats. stat and buf are scratch
// buffers.
func kernelThreads(r procReader, stat, buf []byte) map[string]bool {
	kernel := make(map[string]bool)
	b, err := r.read(kthreadd+"/stat", stat)
	if err != nil {
		return kernel
	}
	if st, err := parseProcStat(b); err != nil || st.Flags&pfKthread == 0 {
		return kernel
	}
	children, err := r.readAll(kthreadd+"/task/"+kthreadd+"/children", buf)
	if err != nil {
		return kernel
	}
	if len(children) == cap(buf) { // cut: the last pid may be a part of one
		children = children[:max(bytes.LastIndexByte(children, ' '), 0)]
	}
	kernel[kthreadd] = true
	for _, f := range bytes.Fields(children) {
		kernel[string(f)] = true
	}
	return kernel
}

// fromThread completes p, the process n whose main thread has exited,
// with the executable and command line of the first other thread in
// n/task that has not exited too (an executable it may not read leaves
// Exe as it was). Its name stays the main thread's, completed from that
// command line. ok is false when no such thread is left. cmd is a scratch
// buffer.
func fromThread(r procReader, n string, p Process, cmd []byte) (Process, bool) {
	tids, err := r.tasks(n)
	if err != nil {
		return p, false // exited meanwhile
	}
	for _, tid := range tids {
		if tid == n {
			continue
		}
		task := n + "/task/" + tid
		exe, err := r.readlink(task + "/exe")
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // this thread exited too
		case err == nil:
			p.Exe = exe
		}
		cmd, _ = r.read(task+"/cmdline", cmd) // what was read before an error is kept
		p.Cmdline = joinCmdline(cmd)
		p.Name = processName(p.Name, cmd)
		return p, true
	}
	return p, false
}

// joinCmdline joins the NUL-separated arguments of /proc/<pid>/cmdline
// with spaces, without the trailing NULs.
func joinCmdline(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return ""
	}
	var s strings.Builder // one allocation, the string's
	s.Grow(len(b))
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			s.Write(b)
			return s.String()
		}
		s.Write(b[:i])
		s.WriteByte(' ')
		b = b[i+1:]
	}
}

// processName is the kernel's name of a process (comm), completed from
// the command line when the kernel cut it at 15 bytes: "kav4proxy-kavic"
// for kav4proxy-kavicapserver.
func processName(comm string, cmdline []byte) string {
	const commLen = 15 // TASK_COMM_LEN - 1
	if len(comm) < commLen {
		return comm
	}
	arg0 := cmdline
	if i := bytes.IndexByte(arg0, 0); i >= 0 {
		arg0 = arg0[:i]
	}
	if len(arg0) == 0 {
		return comm
	}
	// argv[0] up to the first white space: a process that rewrote its
	// arguments into one string keeps its program first.
	if i := bytes.IndexFunc(arg0, unicode.IsSpace); i >= 0 {
		arg0 = arg0[:i]
	}
	if full := path.Base(string(arg0)); strings.HasPrefix(full, comm) {
		return full
	}
	return comm
}

// fsProcs reads a proc tree recorded as an fs.FS: a test fixture, or
// /proc itself through os.DirFS.
type fsProcs struct{ fsys fs.FS }

func (f fsProcs) pids() ([]string, error) { return f.names(".") }

func (f fsProcs) tasks(pid string) ([]string, error) {
	tids, err := f.names(pid + "/task")
	return tids[:min(len(tids), maxTasks)], err
}

func (f fsProcs) readAll(name string, buf []byte) ([]byte, error) { return f.read(name, buf) }

// names returns the names in the folder dir.
func (f fsProcs) names(dir string) ([]string, error) {
	ents, err := fs.ReadDir(f.fsys, dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

func (f fsProcs) read(name string, buf []byte) ([]byte, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return buf, err
	}
	defer file.Close()
	return readFull(file, buf)
}

func (f fsProcs) readlink(name string) (string, error) { return fs.ReadLink(f.fsys, name) }

// readFull reads r into buf[len(buf):cap(buf)] until its end or until
// buf is full.
func readFull(r io.Reader, buf []byte) ([]byte, error) {
	for len(buf) < cap(buf) {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if n == 0 {
			return buf, io.ErrNoProgress
		}
	}
	return buf, nil
}
