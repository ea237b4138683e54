// Package host describes the machine being scanned as data: which operating
// system it runs, a read-only filesystem rooted at it, and the live OS APIs
// (processes, the Windows registry and services) behind small interfaces.
//
// Detection code never asks runtime.GOOS or opens absolute paths: it reads
// [Host.FS] and consults [Host.OS], so the same code scans this machine, a
// mounted disk image or a test fixture.
package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/avscout/avscout/internal/safefs"
	"github.com/avscout/avscout/internal/winreg"
)

// OS names a target operating system family as it appears in reports.
type OS string

// The operating systems avscout knows how to scan.
const (
	Linux   OS = "linux"
	Windows OS = "windows"
	Darwin  OS = "darwin"
)

// OSes returns every OS avscout knows, in the order reports and messages
// list them.
func OSes() []OS { return []OS{Linux, Windows, Darwin} }

// Valid reports whether o is one of the known operating systems.
func (o OS) Valid() bool { return o == Linux || o == Windows || o == Darwin }

// ParseOS validates a user-supplied OS name.
func ParseOS(s string) (OS, error) {
	if o := OS(s); o.Valid() {
		return o, nil
	}
	return "", fmt.Errorf("unknown OS %q (want linux, windows or darwin)", s)
}

// Process is one running process as seen by a [ProcessLister].
type Process struct {
	PID     int32
	Name    string // short name, as the kernel reports it
	Exe     string // full executable path, empty when it cannot be read
	Cmdline string // command line joined by spaces, possibly empty
}

// ProcessLister lists the processes running on a live host.
type ProcessLister interface {
	Processes(ctx context.Context) ([]Process, error)
}

// ErrNotLive reports that a live-only API was asked of a host that is a
// filesystem image (scanned with --root) rather than the running machine.
var ErrNotLive = errors.New("not available when scanning a root directory")

// Host is the machine a scan looks at.
type Host struct {
	// OS is the target operating system: detected from the root's content or
	// given by the user. It is data, never runtime.GOOS.
	OS OS
	// Root is the directory the filesystem is rooted at, as the user gave it
	// ("/" for this machine). It appears in reports.
	Root string
	// FS reads the target's files with paths relative to Root, without a
	// leading slash ("var/lib/dpkg/status"). Symlinks cannot escape it. On
	// a host made by OpenRoot or Live it is a [safefs.Root]: opening a
	// named pipe, a socket or a device fails at once.
	FS fs.FS
	// Live is true when the host is the running machine, so live-only APIs
	// (processes, services) describe the same system as FS.
	Live bool
	// Processes lists running processes; nil when the host is not live.
	Processes ProcessLister
	// Registry is the Windows registry; nil unless the host is a live
	// Windows machine.
	Registry winreg.Registry
	// Services lists Windows services and drivers from the service control
	// manager; nil unless the host is a live Windows machine.
	Services ServiceLister
	// CaseInsensitiveFS is true when FS itself finds a name in any case (a
	// live Windows machine), so that a name missing in one case is missing
	// in all and no directory need be listed to look for it.
	CaseInsensitiveFS bool

	// root is what FS reads through when the host is a directory on this
	// machine (OpenRoot, Live); nil for a host built in a test.
	root *os.Root
}

// ErrNoSub means [Host.Sub] cannot open a folder of its own on this host:
// its FS is not a directory on this machine.
var ErrNoSub = errors.New("no sub-root on this host")

// Sub opens the folder dir of FS (slash separated, "." for the root) as a
// filesystem of its own, and returns it with the function that releases
// it. os.Root, which FS reads through, walks every folder of a name on
// each call, opening each in turn; a source that reads many files of one
// folder (the unit files of /usr/lib/systemd/system) or looks up many
// names in it saves those walks by reading them through Sub.
//
// Its names resolve as in FS, except that a symbolic link leaving dir is
// refused: an error other than fs.ErrNotExist from it means "look the
// name up in FS". An fs.ErrNotExist from it is certain: FS has no such
// name either. On a host whose FS is not a directory on this machine it
// returns [ErrNoSub].
func (h *Host) Sub(dir string) (fs.FS, func(), error) {
	if h.root == nil {
		return nil, nil, ErrNoSub
	}
	r, err := h.root.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	return safefs.Root(r), func() { r.Close() }, nil
}

// LocalPath returns the path on this machine of the target file name (slash
// separated, relative to the root), for the few libraries that need a real
// file path rather than an fs.FS.
func (h *Host) LocalPath(name string) string {
	return filepath.Join(h.Root, filepath.FromSlash(name))
}

// OpenRoot describes a filesystem image rooted at dir: processes are not
// available and the OS is detected from the content unless target is given.
func OpenRoot(dir string, target OS) (*Host, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("root %s: not a directory", dir)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	h := &Host{Root: abs, FS: safefs.Root(r), OS: target, root: r}
	if h.OS == "" {
		if h.OS, err = DetectOS(h.FS); err != nil {
			return nil, fmt.Errorf("root %s: %w (use --os to say which)", dir, err)
		}
	}
	return h, nil
}

// Live describes the running machine. The target OS defaults to the one this
// binary was built for; it is the only place runtime.GOOS decides anything.
func Live(target OS) (*Host, error) {
	root := string(filepath.Separator)
	if runtime.GOOS == "windows" {
		root = os.Getenv("SystemDrive") + `\`
		if root == `\` {
			root = `C:\`
		}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("live root %s: %w", root, err)
	}
	if target == "" {
		target = OS(runtime.GOOS)
	}
	return &Host{
		OS:        target,
		Root:      root,
		FS:        safefs.Root(r),
		root:      r,
		Live:      true,
		Processes: newLiveProcesses(),
		Registry:  newLiveRegistry(),
		Services:  newLiveServices(),

		CaseInsensitiveFS: runtime.GOOS == "windows",
	}, nil
}
