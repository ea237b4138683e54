// Package detect defines what sources observe on a host and runs them.
//
// A source looks at one kind of place (a package database, the process
// list, the filesystem) and reports what it sees as [Observation] values,
// without knowing any vendor: judging is the catalog's job. The [Runner]
// runs all sources concurrently, each under its own timeout and panic
// guard, so one broken source never stops the others.
package detect

import (
	"context"
	"errors"

	"github.com/avscout/avscout/internal/host"
)

// Kind says what an observation is.
type Kind string

// Observation kinds. The catalog matches fingerprints by kind.
const (
	KindPackage Kind = "package" // an OS package (dpkg, rpm, apk)
	KindApp     Kind = "app"     // installed software with a display name (Windows uninstall entry, macOS bundle)
	KindProcess Kind = "process" // a running process
	KindService Kind = "service" // a service definition (systemd unit, Windows service, launchd job)
	KindDriver  Kind = "driver"  // a kernel driver or extension
	KindPath    Kind = "path"    // a file or directory that exists
	KindKey     Kind = "key"     // a registry key that exists
	KindSigner  Kind = "signer"  // the code-signing identity of a file
	// KindExecutable is a program or driver image present where it runs
	// from (beneath a product's program folder): evidence of an install
	// even when no package database or registry knows it.
	KindExecutable Kind = "executable"
)

// Status is how alive the thing observed is. It decides a product's state.
type Status int

// Statuses from least to most alive.
const (
	// Present: the thing exists (a file, a key, a unit file) but says nothing
	// about being installed. Alone it makes a product a leftover.
	Present Status = iota
	// Residual: an installer database says it was removed but left
	// something behind (a dpkg package in config-files state).
	Residual
	// Installed: a package manager or registry says it is installed.
	Installed
	// Running: it runs now.
	Running
)

func (s Status) String() string {
	switch s {
	case Present:
		return "present"
	case Residual:
		return "residual"
	case Installed:
		return "installed"
	case Running:
		return "running"
	}
	return "unknown"
}

// Observation is one thing a source saw. Fields that do not apply stay empty.
type Observation struct {
	Source string // the source's name; set by the Runner
	Kind   Kind
	Status Status

	Name    string // package, process, service, driver or file name
	Display string // human-facing product name (uninstall DisplayName, bundle name)
	Version string
	Vendor  string // maintainer, vendor or publisher as recorded ("AO Kaspersky Lab <support@kaspersky.com>")
	// Packager is a second organisation field some databases keep (rpm's
	// Packager); matched like Vendor.
	Packager string
	Path     string // target path of the executable, file or install location
	Signer   string // code-signing subject or team identifier
	// Altitude holds the minifilter altitudes a Windows driver registers
	// (Instances\*\Altitude), comma-separated when several; Microsoft
	// allocates them per vendor. A string keeps Observation comparable.
	Altitude string

	// Location is where the evidence was read: a file relative to the root
	// ("var/lib/dpkg/status"), a registry key, "process 1234".
	Location string
	// Detail is the evidence as a human reads it ("kesl 12.1.0-2968").
	Detail string
	// Definitions is the date (YYYY-MM-DD, UTC) of the last anti-virus
	// definitions update the evidence records, when it records one.
	Definitions string
	// UninstallCommand and QuietUninstallCommand are an uninstall
	// entry's UninstallString and QuietUninstallString as the registry
	// holds them (cut, marked "...", when long): set by the uninstall
	// source only, so that a removal plan reads the command from its own
	// field and never out of display text a publisher controls.
	UninstallCommand      string
	QuietUninstallCommand string
	// NoMaker, on a signer observation, says that the file was read and
	// names no maker: no valid signature (none, or a broken or copied
	// one) and no company in its version resource (the pe enricher). A
	// vendor's registry key, which may be residue, does not make such a
	// file the vendor's.
	NoMaker bool
}

// Source observes one kind of place on a host.
type Source interface {
	// Name is short and stable; it appears in reports and in --sources.
	Name() string
	// Collect reports what the source sees on h by calling emit once per
	// observation. It returns ErrUnavailable (wrapped) when the host lacks
	// what the source reads, and keeps going past bad records, returning the
	// first error at the end: what was emitted before an error is kept.
	Collect(ctx context.Context, h *host.Host, emit func(Observation)) error
}

// ItemError is the failure to read one item (a bundle, a unit file, a
// registry key) inside a source that otherwise worked. Returned from
// Collect, alone or joined with others, it is a warning in the report:
// the source still saw the rest, so the verdict stays complete.
type ItemError struct{ Err error }

func (e *ItemError) Error() string { return e.Err.Error() }
func (e *ItemError) Unwrap() error { return e.Err }

// Warn marks err as the failure of one item; nil stays nil.
func Warn(err error) error {
	if err == nil {
		return nil
	}
	return &ItemError{Err: err}
}

// ErrUnavailable marks a source that cannot run on this host (processes of
// a root image, a package manager that is not there). It is not a failure.
var ErrUnavailable = errors.New("unavailable")

// Enricher looks closer at what the sources observed — the executables
// that services and processes point at, say — and reports what it finds
// as new observations. It runs after every source has finished.
type Enricher interface {
	Name() string
	// Enrich reads obs (its own copy) and emits new observations; errors
	// follow the rules of [Source.Collect].
	Enrich(ctx context.Context, h *host.Host, obs []Observation, emit func(Observation)) error
}
