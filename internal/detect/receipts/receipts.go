// Package receipts is the "receipts" source: the installer receipts a
// macOS target keeps in /var/db/receipts, one per package installed with
// Installer or `installer -pkg`.
//
// Receipts are macOS's package database: pkgutil --pkgs lists them. They
// outlive drag-to-Trash removals and failed uninstallers, and name the
// package by its reverse-DNS identifier (com.kaspersky.kav.core) whatever
// the product is called. The source knows no vendor: the catalog judges
// the identifiers.
//
// # When is a receipt a leftover?
//
// A receipt (PackageIdentifier.plist) says where its package was
// installed (InstallPrefixPath) but not what it installed: the file list
// is in the matching .bom, which this source does not read. So the rule
// is about the install location only:
//
//   - When InstallPrefixPath names a folder of the package's own (any path
//     but the root and the shared system folders listed in sharedDir,
//     such as "Library/Application Support/Kaspersky Lab/KAV" or
//     "Applications/Foo.app") and that folder is gone, everything the
//     package installed went with it: the receipt is Residual.
//   - Otherwise — the folder exists, or the prefix is "/" or a shared
//     folder like "Applications" whose existence proves nothing — the
//     receipt is taken at its word: Installed, as pkgutil would say.
//
// The rule never calls a present install a leftover; it may call a
// removed root-prefixed package installed, which is the safe mistake for
// a compliance scan.
package receipts

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/host"
)

// receiptDirs are where receipts are kept: /var is a link to /private/var on a
// Mac, and either may be what a copied image holds. A directory reached
// both ways is read once.
var receiptDirs = []string{"private/var/db/receipts", "var/db/receipts"}

// sharedDir reports whether p, in lower case, is an install prefix that
// holds other software too: that it exists says nothing about the package.
// A switch rather than a map, so that no process builds it at start-up.
func sharedDir(p string) bool {
	switch p {
	case "",
		"applications",
		"applications/utilities",
		"library",
		"library/application support",
		"library/launchdaemons",
		"library/launchagents",
		"library/extensions",
		"library/frameworks",
		"library/privilegedhelpertools",
		"library/preferences",
		"library/internet plug-ins",
		"library/systemextensions",
		"library/security",
		"library/security/securityagentplugins",
		"usr",
		"usr/local",
		"usr/local/bin",
		"usr/local/lib",
		"usr/local/share",
		"opt",
		"private",
		"private/var",
		"private/etc",
		"private/tmp",
		"var",
		"etc",
		"tmp",
		"users",
		"users/shared",
		"system",
		"system/library":
		return true
	}
	return false
}

// Source reads installer receipts.
type Source struct{}

// New returns the receipts source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "receipts" }

// Collect implements [detect.Source]. It emits one [detect.KindPackage]
// observation per receipt (see [Observe]); receipts that cannot be read
// are warnings ([detect.Warn]), receipt folders that cannot be listed the
// source's failure. A root without receipt directories
// gives nothing and no error. It is for macOS targets only.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.FS == nil {
		return fmt.Errorf("receipts: no filesystem: %w", detect.ErrUnavailable)
	}
	var errs macos.Errors
	err := macos.ReadPlistDirs(ctx, h.FS, receiptDirs, &errs, func(d macos.Dict, loc string) {
		o, err := Observe(h.FS, d, loc)
		if err != nil {
			errs.Add(detect.Warn(err)) // one receipt
			return
		}
		emit(o)
	})
	if err != nil {
		return fmt.Errorf("receipts: %w", err)
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("receipts: %w", err)
	}
	return nil
}

// Observe describes the receipt d read from loc on the root fsys. Name is
// PackageIdentifier, Version PackageVersion, Path the install location
// when it is the package's own folder; Status is Installed or Residual as
// the package documentation explains. A receipt without a
// PackageIdentifier is an error.
func Observe(fsys fs.FS, d macos.Dict, loc string) (detect.Observation, error) {
	id := strings.TrimSpace(d.String("PackageIdentifier"))
	if id == "" {
		return detect.Observation{}, fmt.Errorf("%s: no PackageIdentifier", loc)
	}
	o := detect.Observation{
		Kind:     detect.KindPackage,
		Status:   detect.Installed,
		Name:     id,
		Version:  strings.TrimSpace(d.String("PackageVersion")),
		Location: loc,
	}
	var b strings.Builder
	b.WriteString(id)
	if o.Version != "" {
		b.WriteString(" " + o.Version)
	}
	if t, ok := d.Time("InstallDate"); ok {
		b.WriteString(", installed " + t.UTC().Format("2006-01-02"))
	}
	prefix, own := installPrefix(d.String("InstallPrefixPath"))
	b.WriteString(" into /" + prefix)
	if own {
		o.Path = "/" + prefix
		ok, err := macos.Exists(fsys, prefix)
		switch {
		case err != nil:
			b.WriteString(" (location unreadable)")
		case !ok:
			o.Status = detect.Residual
			b.WriteString(" (gone: receipt left behind)")
		}
	}
	o.Detail = b.String()
	return o, nil
}

// installPrefix returns the receipt's install location relative to the
// root, and whether it is the package's own folder rather than the root
// or a shared one.
func installPrefix(p string) (string, bool) {
	p = strings.Trim(path.Clean("/"+strings.TrimSpace(p)), "/")
	if p == "" || strings.HasPrefix(p, "..") || !fs.ValidPath(p) {
		return "", false
	}
	return p, !sharedDir(strings.ToLower(p))
}
