// Package apk observes the packages recorded in an Alpine-family package
// database: lib/apk/db/installed (Alpine, OpenWrt) or, on usr-merged
// systems whose /lib is not a directory of its own, usr/lib/apk/db/installed
// (Wolfi, apk-tools 3).
//
// It exists because containers and appliances built on Alpine carry
// security software too (ClamAV most often, and vendors' agents in custom
// images), and the installed database is the only record of it. The
// package reports every record as written and judges nothing: which
// maintainer or name means Kaspersky is the catalog's call.
//
// The parser, [ParseInstalled], is pure and streaming.
package apk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
)

// Where apk keeps its installed database, relative to the root, in the
// order they are tried.
const (
	InstalledPath    = "lib/apk/db/installed"
	UsrInstalledPath = "usr/lib/apk/db/installed"
	sourceName       = "apk"
)

// Source reads the apk installed database of a host. Its zero value is
// ready.
type Source struct{}

var _ detect.Source = Source{}

// Name is "apk".
func (Source) Name() string { return sourceName }

// Collect emits one [detect.KindPackage] observation per record of the
// installed database, with Status Installed (apk keeps no record of removed
// packages) and the maintainer as Vendor. It reads lib/apk/db/installed,
// or usr/lib/apk/db/installed when the first is absent; on a usr-merged
// root where lib links to usr/lib both name the same file, read once. It
// returns an error wrapping [detect.ErrUnavailable] when neither exists.
func (Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h == nil || h.FS == nil {
		return fmt.Errorf("apk: no filesystem: %w", detect.ErrUnavailable)
	}
	// safefs refuses a named pipe, a device or a file over the cap of a
	// package database at once, and stops reading once ctx is done.
	name := InstalledPath
	f, err := safefs.Open(ctx, h.FS, name, safefs.PackageDB)
	if errors.Is(err, fs.ErrNotExist) {
		name = UsrInstalledPath
		f, err = safefs.Open(ctx, h.FS, name, safefs.PackageDB)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no %s or %s: %w", InstalledPath, UsrInstalledPath, detect.ErrUnavailable)
	}
	if err != nil {
		return err // an *fs.PathError names the file
	}
	defer f.Close()
	err = ParseInstalled(f, func(p Package) error {
		emit(detect.Observation{
			Kind:     detect.KindPackage,
			Status:   detect.Installed,
			Name:     p.Name,
			Version:  p.Version,
			Vendor:   p.Maintainer,
			Location: name,
			Detail:   detail(p),
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// detail is the evidence as a human reads it: "clamav-daemon 1.2.1-r0".
func detail(p Package) string {
	if p.Version == "" {
		return p.Name
	}
	return p.Name + " " + p.Version
}
