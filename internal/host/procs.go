//go:build !darwin && !windows

package host

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// liveProcesses lists this machine's processes from /proc.
type liveProcesses struct{ proc string }

func newLiveProcesses() ProcessLister { return liveProcesses{proc: "/proc"} }

// Processes returns every process it can see: see [listProcs].
//
// The files are read with bare system calls. os.Open costs six more per
// file on Linux (fcntl and epoll_ctl to try the poller, fstat for the
// size), five times the time of the read itself in /proc; gopsutil, used
// before, also opened status and cmdline twice per process.
func (l liveProcesses) Processes(ctx context.Context) ([]Process, error) {
	return listProcs(ctx, rawProcs{dir: l.proc})
}

// rawProcs reads a proc filesystem at dir with bare system calls.
type rawProcs struct{ dir string }

func (r rawProcs) pids() ([]string, error) { return readNames(r.dir, -1) }

func (r rawProcs) tasks(pid string) ([]string, error) {
	return readNames(r.dir+"/"+pid+"/task", maxTasks)
}

// readNames returns the names in the folder dir, at most n of them when
// n > 0.
func readNames(dir string, n int) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return names, nil
}

// read reads name as [procReader] says in one read: procfs writes a
// process's stat and command line whole in one read when the buffer holds
// them, and ps reads them so (procps's file2str stops at a short read).
// The read after, which would only say the end, cost a system call per
// file.
func (r rawProcs) read(name string, buf []byte) ([]byte, error) { return r.readFile(name, buf, false) }

func (r rawProcs) readAll(name string, buf []byte) ([]byte, error) {
	return r.readFile(name, buf, true)
}

// readFile reads name into buf[len(buf):cap(buf)]: once, or until its
// end or until buf is full when whole.
func (r rawProcs) readFile(name string, buf []byte, whole bool) ([]byte, error) {
	fd, err := syscall.Open(r.dir+"/"+name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return buf, err
	}
	defer syscall.Close(fd)
	for len(buf) < cap(buf) {
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return buf, err
		}
		buf = buf[:len(buf)+n]
		if !whole || n == 0 {
			break
		}
	}
	return buf, nil
}

func (r rawProcs) readlink(name string) (string, error) {
	var b [syscall.PathMax]byte // the kernel's d_path gives at most a page
	n, err := syscall.Readlink(r.dir+"/"+name, b[:])
	if err != nil {
		return "", err
	}
	if n == len(b) { // cut: take the long way
		return os.Readlink(r.dir + "/" + name)
	}
	return string(b[:n]), nil
}
