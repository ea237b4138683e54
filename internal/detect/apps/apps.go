// Package apps is the "apps" source: the application bundles installed
// on a macOS target, each with the code-signing Team ID of its main
// executable.
//
// On macOS most software, security products included, is an .app bundle
// copied into /Applications, not a package a database remembers. Its
// Info.plist names it (bundle id, display name, version) and the Team ID
// in its executable's code signature says who built it, whatever it is
// called: a bundle signed by Kaspersky's team is Kaspersky's even when it
// is sold as "SafeGuard Pro". The source reads both through [host.Host.FS],
// so a mounted image is read like the running Mac; it knows no vendor.
//
// Where it looks, as the Finder and Launch Services would find apps:
//   - Applications, and the folders directly inside it (Applications/Utilities,
//     vendor folders such as Applications/Sophos);
//   - Library/Application Support/<folder>, where agents keep helper apps;
//   - Users/<user>/Applications, and the folders directly inside it.
//
// Bundles inside bundles (login items, helpers under Contents) are not
// listed, and folders are never descended further than one level, so the
// work is bounded by the size of those directories: a loop of symbolic
// links is met at most once, a directory lists at most
// [macos.MaxEntries] entries, and at most [MaxApps] bundles are read.
package apps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/macho"
	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/host"
)

// MaxApps bounds the bundles one scan reads. Real Macs have hundreds.
const MaxApps = 50_000

// Source lists application bundles.
type Source struct{}

// New returns the apps source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "apps" }

// ErrTooManyApps means more than [MaxApps] bundles were found; the first
// ones were reported.
var ErrTooManyApps = errors.New("too many application bundles")

// Collect implements [detect.Source]. It emits one [detect.KindApp]
// observation, status Installed, per bundle (see [Observe]). Unreadable
// Info.plists, executables that are not Mach-O, broken signatures and
// link loops are one bundle's failure, returned as warnings
// ([detect.Warn]) — the bundle is still emitted with what could be read.
// Folders that cannot be listed, oversized directories and too many
// bundles are the source's failure: it did not see everything. Missing
// folders are not errors. It is for macOS targets; the source list
// (internal/detect/sources) runs it on no other.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.FS == nil {
		return fmt.Errorf("apps: no filesystem: %w", detect.ErrUnavailable)
	}
	var errs macos.Errors
	w := &macos.BundleWalk{
		FS: h.FS, Ext: ".app", SkipHidden: true, Errs: &errs,
		MaxBundles:     MaxApps,
		TooManyBundles: fmt.Errorf("%w: more than %d; the rest were not read", ErrTooManyApps, MaxApps),
		Visit: func(name, real string) {
			o, oerrs := Observe(h.FS, name, real)
			for _, err := range oerrs {
				errs.Add(detect.Warn(err)) // the bundle is still reported
			}
			emit(o)
		},
	}
	if err := walk(ctx, h.FS, w); err != nil {
		errs.Add(err)
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	return nil
}

// walk visits the bundles of /Applications and of its subfolders, of
// /Library/Application Support (and <vendor>/X.app there), and of each
// user's Applications folder (and its subfolders).
func walk(ctx context.Context, fsys fs.FS, w *macos.BundleWalk) error {
	if err := w.Walk(ctx, "Applications", 1); err != nil {
		return err
	}
	if err := w.Walk(ctx, "Library/Application Support", 1); err != nil {
		return err
	}
	usersReal, users, err := macos.ReadDir(ctx, fsys, "Users")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.Errs.Add(err)
	}
	for _, u := range users {
		e, err := macos.Resolve(fsys, "Users", usersReal, u)
		if err != nil || !e.IsDir {
			continue
		}
		if err := w.Walk(ctx, e.Name+"/Applications", 1); err != nil {
			return err
		}
	}
	return nil
}

// Observe describes the bundle listed as name (slash separated, relative
// to the root) whose link-free name is real. It reads the bundle's
// Info.plist and its main executable's code signature; what cannot be
// read is returned as errors and left out of the observation, which is
// always usable.
//
// Name is CFBundleIdentifier; Display is CFBundleDisplayName, else
// CFBundleName, else the folder's name without ".app"; Version is
// CFBundleShortVersionString, else CFBundleVersion; Path is the target
// path of the bundle ("/Applications/Foo.app"); Signer is the Team ID of
// the main executable; Location is the Info.plist read.
func Observe(fsys fs.FS, name, real string) (detect.Observation, []error) {
	o, b, signed, errs := macos.ObserveBundle(fsys, name, real, detect.KindApp, describeSignature)
	o.Name, o.Display, o.Version = b.Identifier, b.Title(name), b.VersionString()
	o.Detail = detail(o, signed)
	return o, errs
}

// describeSignature says how an executable is signed, for the detail.
func describeSignature(sig macho.Signature, exe string) string {
	base := path.Base(exe)
	switch {
	case sig.TeamID != "":
		return fmt.Sprintf("%s signed by team %s", base, sig.TeamID)
	case !sig.Signed:
		return base + " unsigned"
	case sig.AdHoc:
		return base + " ad-hoc signed"
	}
	return base + " signed without a team"
}

func detail(o detect.Observation, signed string) string {
	var b strings.Builder
	b.WriteString(o.Display)
	if o.Version != "" {
		b.WriteString(" " + o.Version)
	}
	if o.Name != "" {
		b.WriteString(" (" + o.Name + ")")
	}
	b.WriteString(" at " + o.Path + ", " + signed)
	return b.String()
}
