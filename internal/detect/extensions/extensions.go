// Package extensions is the "extensions" source: the system extensions and
// kernel extensions of a macOS target.
//
// Endpoint security products hook into macOS through extensions: since
// macOS 11 as system extensions (Endpoint Security, network filters),
// before that as kernel extensions. sysextd records every system
// extension it knows in /Library/SystemExtensions/db.plist — bundle id,
// Team ID, version and state — which tells, from the files alone, whether
// an extension is enabled, waiting for the user's approval, or waiting to
// be removed at the next reboot. Kernel extensions are bundles in
// /Library/Extensions (and, staged for loading, /Library/StagedExtensions)
// and in /System/Library/Extensions, the one folder kexts were loaded
// from at boot in early Mac OS X (daringfireball.net, "The One and Only
// Mac OS X Extensions Folder", 2003) and writable until System Integrity
// Protection (OS X 10.11): legacy security products put theirs there,
// beside Apple's.
// Both carry the vendor's Team ID, so a white-labelled product's
// extension still names its maker. The source knows no vendor.
package extensions

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

// DBPath is sysextd's database of system extensions.
const DBPath = "Library/SystemExtensions/db.plist"

// Bounds on the work.
const (
	// maxExtensions bounds the entries read from db.plist.
	maxExtensions = 10_000
	// maxStagedDepth bounds how deep StagedExtensions is searched for
	// .kext bundles: it mirrors the paths the kexts came from
	// (StagedExtensions/Library/Extensions/X.kext,
	// StagedExtensions/Applications/Foo.app/Contents/Library/Extensions/X.kext).
	maxStagedDepth = 8
	// maxKexts bounds the kernel extension bundles read, maxDirs the
	// folders listed looking for them.
	maxKexts = 10_000
	maxDirs  = 10_000
)

// kextDirs are the folders kernel extensions are loaded from, with how
// deep each is searched. /System/Library/Extensions holds hundreds of
// Apple's own kexts (com.apple.*), part of the OS, which are not reported:
// only what a vendor added there (legacy kexts, before System Integrity
// Protection) is.
var kextDirs = []struct {
	name         string
	depth        int
	skipPlatform bool
}{
	{"Library/Extensions", 0, false},
	{"Library/StagedExtensions", maxStagedDepth, false},
	{"System/Library/Extensions", 0, true},
}

// platformPrefix is the bundle identifier namespace of the OS's own kexts.
const platformPrefix = "com.apple."

// Source reads system and kernel extensions.
type Source struct{}

// New returns the extensions source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "extensions" }

// Collect implements [detect.Source]. It emits one [detect.KindDriver]
// observation per system extension recorded in db.plist (see
// [ObserveSystemExtension]) and per kernel extension bundle (see
// [ObserveKext]). Missing locations are not errors. An unreadable or
// malformed db.plist, a folder that cannot be listed and too many
// extensions are the source's failure; one entry of db.plist or one
// kext bundle that cannot be read is a warning ([detect.Warn]). It is for
// macOS targets only.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.FS == nil {
		return fmt.Errorf("extensions: no filesystem: %w", detect.ErrUnavailable)
	}
	var errs macos.Errors
	if err := systemExtensions(ctx, h.FS, emit, &errs); err != nil {
		return fmt.Errorf("extensions: %w", err)
	}
	skipPlatform := false
	w := &macos.BundleWalk{
		FS: h.FS, Ext: ".kext", Errs: &errs,
		MaxBundles:     maxKexts,
		TooManyBundles: fmt.Errorf("more than %d kernel extensions; the rest were not read", maxKexts),
		MaxDirs:        maxDirs,
		TooManyDirs:    fmt.Errorf("more than %d folders searched for kernel extensions; the rest were not", maxDirs),
		Visit: func(name, real string) {
			if skipPlatform {
				// Info.plist first, so Apple's kexts cost one small read
				// each and no signature is parsed for them.
				if b, _, err := macos.ReadBundle(h.FS, real); err == nil && strings.HasPrefix(b.Identifier, platformPrefix) {
					return
				}
			}
			o, oerrs := ObserveKext(h.FS, name, real)
			for _, err := range oerrs {
				errs.Add(detect.Warn(err)) // the kext is still reported
			}
			emit(o)
		},
	}
	for _, dir := range kextDirs {
		skipPlatform = dir.skipPlatform
		if err := w.Walk(ctx, dir.name, dir.depth); err != nil {
			return fmt.Errorf("extensions: %w", err)
		}
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("extensions: %w", err)
	}
	return nil
}

// systemExtensions reads db.plist. It returns only a cancelled context;
// other errors are recorded.
func systemExtensions(ctx context.Context, fsys fs.FS, emit func(detect.Observation), errs *macos.Errors) error {
	db, loc, err := macos.ReadPlist(fsys, DBPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		errs.Add(err)
		return nil
	}
	list, ok := db["extensions"].([]any)
	if !ok {
		if _, present := db["extensions"]; present {
			errs.Add(fmt.Errorf("%s: extensions is not an array", loc))
		}
		return nil
	}
	if len(list) > maxExtensions {
		errs.Add(fmt.Errorf("%s: %d extensions, only the first %d read", loc, len(list), maxExtensions))
		list = list[:maxExtensions]
	}
	for i, v := range list {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			errs.Add(detect.Warn(fmt.Errorf("%s: extensions[%d] is not a dictionary", loc, i)))
			continue
		}
		o, err := ObserveSystemExtension(macos.Dict(m), loc)
		if err != nil {
			errs.Add(detect.Warn(fmt.Errorf("extensions[%d]: %w", i, err)))
			continue
		}
		emit(o)
	}
	return nil
}

// Status maps a system extension state, as sysextd names it in db.plist
// (and systemextensionsctl prints it with spaces), to how alive the
// extension is:
//
//   - activated_enabled: Running — enabled, so macOS keeps it running;
//   - terminated_*, terminating_for_uninstall*, uninstalling, uninstalled:
//     Residual — being removed, or removed and waiting for a reboot;
//   - any other state (activated_waiting_for_user, activated_disabled,
//     activated_enabling, activated_waiting_to_upgrade,
//     terminating_for_disable, validating…) and unknown ones: Installed —
//     present and not on its way out.
func Status(state string) detect.Status {
	s := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(state)), " ", "_")
	switch {
	case s == "activated_enabled":
		return detect.Running
	case strings.HasPrefix(s, "terminated"),
		strings.HasPrefix(s, "terminating_for_uninstall"),
		s == "uninstalling", s == "uninstalled":
		return detect.Residual
	}
	return detect.Installed
}

// ObserveSystemExtension describes one entry of db.plist read from loc.
// Name is its identifier, Signer its teamID, Version
// bundleVersion.CFBundleShortVersionString (else CFBundleVersion), Path
// the copy inside its application (originPath, else the application's
// container.bundlePath), which places it in that application's install
// folder, and Display the name of that application: its bundle folder's
// name without ".app" ("Kaspersky Internet Security" for
// /Applications/Kaspersky Internet Security.app), which is the brand the
// user sees whatever the extension's identifier says. Status follows
// [Status]. An entry without an identifier is an error.
func ObserveSystemExtension(d macos.Dict, loc string) (detect.Observation, error) {
	id := strings.TrimSpace(d.String("identifier"))
	if id == "" {
		return detect.Observation{}, fmt.Errorf("%s: entry without identifier", loc)
	}
	bv := d.Dict("bundleVersion")
	version := bv.String("CFBundleShortVersionString")
	if version == "" {
		version = bv.String("CFBundleVersion")
	}
	state := d.String("state")
	origin := d.String("originPath")
	app := d.Dict("container").String("bundlePath")
	if origin == "" {
		origin = app
	}
	o := detect.Observation{
		Kind:     detect.KindDriver,
		Status:   Status(state),
		Name:     id,
		Version:  strings.TrimSpace(version),
		Signer:   strings.TrimSpace(d.String("teamID")),
		Display:  AppName(app, origin),
		Path:     origin,
		Location: loc,
	}
	var b strings.Builder
	b.WriteString("system extension " + id)
	if o.Version != "" {
		b.WriteString(" " + o.Version)
	}
	if o.Signer != "" {
		b.WriteString(" (team " + o.Signer + ")")
	}
	if state == "" {
		state = "no state"
	}
	b.WriteString(": " + state)
	for _, c := range d.Strings("categories") {
		b.WriteString(", " + strings.TrimPrefix(c, "com.apple.system_extension."))
	}
	if app != "" {
		b.WriteString(", from " + app)
	}
	o.Detail = b.String()
	return o, nil
}

// AppName is the name of the application that delivered a system
// extension: the base name, without ".app", of its container app, else
// of the outermost .app folder on the extension's origin path; "" when
// neither names one.
func AppName(container, origin string) string {
	for _, p := range []string{container, origin} {
		for _, c := range strings.Split(p, "/") {
			if len(c) > len(".app") && strings.EqualFold(path.Ext(c), ".app") {
				return c[:len(c)-len(".app")]
			}
		}
	}
	return ""
}

// ObserveKext describes the kernel extension bundle listed as name whose
// link-free name is real: Name is its CFBundleIdentifier (the folder's
// name when the Info.plist cannot be read, which is also an error),
// Version its version, Path its target path, Signer the Team ID of its
// executable. Status is Installed: a kext in these folders is installed,
// whether or not it is loaded now.
func ObserveKext(fsys fs.FS, name, real string) (detect.Observation, []error) {
	o, b, signed, errs := macos.ObserveBundle(fsys, name, real, detect.KindDriver, describeKextSignature)
	o.Name, o.Version = b.Identifier, b.VersionString()
	if o.Name == "" {
		o.Name = path.Base(name)
	}
	kind := "kernel extension"
	if strings.HasPrefix(name, "Library/StagedExtensions/") {
		kind = "staged kernel extension"
	}
	o.Detail = fmt.Sprintf("%s %s", kind, o.Name)
	if o.Version != "" {
		o.Detail += " " + o.Version
	}
	o.Detail += " at " + o.Path + " (" + signed + ")"
	return o, errs
}

// describeKextSignature says how a kext's executable is signed, for the
// detail.
func describeKextSignature(sig macho.Signature, _ string) string {
	switch {
	case sig.TeamID != "":
		return "team " + sig.TeamID
	case sig.Signed:
		return "signed without a team"
	}
	return "unsigned"
}
