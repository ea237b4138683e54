// Package uninstall is the "uninstall" source: the Add/Remove Programs
// entries of the machine (both registry views) and of every loaded user
// hive.
//
// Uninstall entries are where Windows software says what it is, who
// published it and where it lives — the install folder is what later ties
// a white-labelled build to the Kaspersky engine running inside it. It
// reads [host.Host.Registry], so it runs on Linux against a fake registry
// loaded from .reg files; it knows no vendor.
package uninstall

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/internal/workers"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/text"
	"github.com/avscout/avscout/internal/winpath"
	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/savedkey"
)

// UninstallKey is where Windows lists installed programs, under HKLM (in
// both views) and under each user's hive.
const UninstallKey = `Microsoft\Windows\CurrentVersion\Uninstall`

// Uninstall is the "uninstall" source.
type Uninstall struct{}

// NewUninstall returns the uninstall source.
func NewUninstall() *Uninstall { return &Uninstall{} }

// Name implements [detect.Source].
func (*Uninstall) Name() string { return "uninstall" }

// uninstallRoot is one Uninstall key to list.
type uninstallRoot struct {
	hive winreg.Hive
	path string
	view winreg.View
}

// Collect implements [detect.Source]. It emits one [detect.KindApp]
// observation, status Installed, per uninstall entry with a DisplayName:
// HKLM's in the 64-bit view, then in the 32-bit view (WOW6432Node), then
// each user's under HKEY_USERS, in Software and Software\WOW6432Node. An entry seen identically in two places
// (on 32-bit Windows both views are one) is emitted once.
//
// Entries marked SystemComponent=1 are kept, although the Programs list
// of Windows hides them: hidden is not absent, MSI packages that a bundle
// installs carry it, and a product that would rather not be seen is the
// one to report. The detail says "hidden (SystemComponent)". Updates
// (ParentKeyName set) are skipped as Windows lists them apart.
//
// An entry that cannot be opened or read is a warning ([detect.Warn]):
// one program unseen, the rest listed. An Uninstall key or HKEY_USERS that
// cannot be opened or listed is the source's failure.
func (s *Uninstall) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.Registry == nil {
		return fmt.Errorf("uninstall: no registry: %w", detect.ErrUnavailable)
	}
	env := winpath.EnvFrom(h.Registry)
	roots := []uninstallRoot{
		{winreg.LocalMachine, `SOFTWARE\` + UninstallKey, winreg.View64},
		{winreg.LocalMachine, `SOFTWARE\` + UninstallKey, winreg.View32},
	}
	var errs []error
	sids, err := userHives(h.Registry)
	if err != nil {
		errs = append(errs, err)
	}
	for _, sid := range sids {
		// A user's hive has no 32-bit view of its own, but 32-bit
		// installers that place themselves write its WOW6432Node.
		roots = append(roots,
			uninstallRoot{winreg.Users, sid + `\Software\` + UninstallKey, winreg.View64},
			uninstallRoot{winreg.Users, sid + `\Software\WOW6432Node\` + UninstallKey, winreg.View64})
	}
	seen := map[string]bool{}
	for _, root := range roots {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		errs = append(errs, s.collectRoot(ctx, h.Registry, root, env, seen, emit)...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	return nil
}

// userHives lists the loaded user hives under HKEY_USERS, without their
// _Classes companions.
func userHives(r winreg.Registry) ([]string, error) {
	k, err := r.OpenKey(winreg.Users, "", winreg.View64)
	if err != nil {
		if errors.Is(err, winreg.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer k.Close()
	names, err := k.SubKeyNames()
	var out []string
	for _, n := range names {
		if !strings.HasSuffix(strings.ToLower(n), "_classes") {
			out = append(out, n)
		}
	}
	return out, err
}

func (s *Uninstall) collectRoot(ctx context.Context, r winreg.Registry, root uninstallRoot, env winpath.Env, seen map[string]bool, emit func(detect.Observation)) []error {
	// A saved copy of the whole key where the registry can make one: one
	// registry call instead of a dozen per entry.
	k, err := savedkey.OpenTree(r, root.hive, root.path, root.view)
	if errors.Is(err, winreg.ErrNotExist) {
		return nil // no per-user entries, or no 32-bit view
	}
	if err != nil {
		return []error{err}
	}
	defer k.Close()
	names, err := k.SubKeyNames()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	// Entries are read by a few workers: each costs a dozen registry calls,
	// which Windows answers in parallel (Wine's one server overlaps them).
	type result struct {
		e   Entry
		ok  bool
		err error
	}
	results := make([]result, len(names))
	workers.ForEach(ctx, len(names), maxWorkers, func(i int) {
		path := root.path + `\` + names[i]
		ek, err := k.OpenSubKey(names[i]) // not the full path: one lookup, not six
		if err != nil {
			if !errors.Is(err, winreg.ErrNotExist) { // removed meanwhile
				// One entry unreadable: the others were read.
				results[i].err = detect.Warn(err) // registry errors name the key
			}
			return
		}
		e, err := ReadEntry(ek)
		ek.Close()
		e.KeyName, e.Location = names[i], winreg.Name(root.hive, path, root.view)
		results[i] = result{e, true, detect.Warn(err)}
	})
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	for _, res := range results {
		if res.err != nil {
			errs = append(errs, res.err)
		}
		if !res.ok {
			continue
		}
		e := res.e
		o, ok := Observe(e, env)
		if !ok {
			continue
		}
		id := strings.ToLower(e.KeyName) + "\x00" + e.DisplayName + "\x00" + e.DisplayVersion + "\x00" + e.Publisher
		if seen[id] {
			continue
		}
		seen[id] = true
		emit(o)
	}
	return errs
}

// maxWorkers is how many registry keys are read at once.
const maxWorkers = 4

// Entry is one uninstall entry as the registry holds it.
type Entry struct {
	KeyName  string // the subkey's name: a product code {GUID} or a name
	Location string // the full key, HKLM\SOFTWARE\…\Uninstall\{GUID}

	DisplayName, DisplayVersion, Publisher    string
	InstallLocation, InstallDate, DisplayIcon string
	UninstallString                           string
	// QuietUninstallString is the entry's unattended uninstall command:
	// read only for an entry whose UninstallString is not msiexec (a
	// Windows Installer product is removed by its product code).
	QuietUninstallString string
	ParentKeyName        string
	SystemComponent      bool
	ModTime              time.Time // the key's last write
}

// ReadEntry reads the values of an uninstall entry's key: none but
// DisplayName when that is missing, none but ParentKeyName besides when
// that is set (an update, which [Observe] drops), and the key's
// last-write time only when InstallDate is missing. Each value read is
// one registry call (one request to Wine's server), and an entry's
// registry calls are most of a scan's on Windows. Values that are missing are left empty; values of an unexpected type are read as
// text (a DisplayVersion stored as a DWORD); values that cannot be read at
// all (too large) are left empty and reported in the error, with the rest
// of the entry.
func ReadEntry(k winreg.Key) (Entry, error) {
	var e Entry
	var errs []error
	text := func(name string) string {
		s, err := winreg.Text(k, name)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	e.DisplayName = text("DisplayName")
	if e.DisplayName == "" {
		return e, errors.Join(errs...) // not listed: the rest is not read
	}
	e.ParentKeyName = text("ParentKeyName")
	if e.ParentKeyName != "" {
		return e, errors.Join(errs...) // an update: not listed either
	}
	e.DisplayVersion = text("DisplayVersion")
	e.Publisher = text("Publisher")
	e.InstallLocation = text("InstallLocation")
	e.InstallDate = text("InstallDate")
	if e.InstallLocation == "" { // the install folder's stand-in
		e.DisplayIcon = text("DisplayIcon")
	}
	e.UninstallString = text("UninstallString")
	if quietUsed(e.UninstallString) { // one more call, for the entries [Observe] shows it of
		e.QuietUninstallString = text("QuietUninstallString")
	}
	if n, err := winreg.Uint(k, "SystemComponent"); err == nil && n == 1 {
		e.SystemComponent = true
	}
	if e.InstallDate == "" {
		e.ModTime, _ = k.ModTime() // the install date's stand-in
	}
	return e, errors.Join(errs...)
}

// Observe maps an entry to an observation. It returns false for entries
// the Programs list would never show: without a DisplayName, or updates of
// another entry (ParentKeyName).
func Observe(e Entry, env winpath.Env) (detect.Observation, bool) {
	if e.DisplayName == "" || e.ParentKeyName != "" {
		return detect.Observation{}, false
	}
	var b strings.Builder
	b.WriteString(e.DisplayName)
	if e.DisplayVersion != "" {
		b.WriteString(" " + e.DisplayVersion)
	}
	if e.Publisher != "" {
		b.WriteString(" (" + e.Publisher + ")")
	}
	switch date := installDate(e.InstallDate); {
	case date != "":
		b.WriteString(", installed " + date)
	case !e.ModTime.IsZero():
		b.WriteString(", entry written " + e.ModTime.UTC().Format("2006-01-02"))
	}
	if e.SystemComponent {
		b.WriteString(", hidden (SystemComponent)")
	}
	// The quiet form comes before the uninstall command, which stays last:
	// "…, quiet uninstall: Q, uninstall: U", for a person; a removal plan
	// reads the commands from their own fields.
	var quiet string
	if e.QuietUninstallString != "" && quietUsed(e.UninstallString) {
		quiet = e.QuietUninstallString
		b.WriteString(", quiet uninstall: " + quiet)
	}
	if e.UninstallString != "" {
		b.WriteString(", uninstall: " + e.UninstallString)
	}
	return detect.Observation{
		Kind:     detect.KindApp,
		Status:   detect.Installed,
		Name:     e.KeyName,
		Display:  e.DisplayName,
		Version:  e.DisplayVersion,
		Vendor:   e.Publisher,
		Path:     InstallDir(e, env),
		Location: e.Location,
		Detail:   text.Clip(b.String(), 2*winreg.MaxText),

		UninstallCommand:      e.UninstallString,
		QuietUninstallCommand: quiet,
	}, true
}

// quietUsed reports whether an entry with this UninstallString has its
// QuietUninstallString read and shown: when it has an uninstall command
// that is not msiexec. A Windows Installer product is removed by its
// product code (msiexec /x {code} /qn), so its quiet form adds nothing,
// and most entries are MSI ones: this keeps the source's registry calls
// at one per entry that can use it.
func quietUsed(uninstall string) bool {
	if strings.TrimSpace(uninstall) == "" {
		return false
	}
	switch strings.ToLower(winpath.Base(winpath.Program(uninstall))) {
	case "msiexec.exe", "msiexec":
		return false
	}
	return true
}

// InstallDir is the folder an entry's program lives in: InstallLocation,
// else the folder of its DisplayIcon, else that of its UninstallString's
// program unless that is msiexec or rundll32. A folder that is no
// program's own — a drive, the Windows folder or anything in it, Program
// Files or ProgramData themselves, a user's profile or AppData — gives "",
// since whatever lies beneath it would be taken for the program's.
func InstallDir(e Entry, env winpath.Env) string {
	if d := strings.Trim(e.InstallLocation, `" `); d != "" {
		d = winpath.Resolve(d, env)
		if ownFolder(d, env) {
			return d
		}
		return ""
	}
	for _, cmd := range []string{e.DisplayIcon, e.UninstallString} {
		prog := winpath.Program(cmd)
		switch strings.ToLower(winpath.Base(prog)) {
		case "", "msiexec.exe", "msiexec", "rundll32.exe", "rundll32":
			continue
		}
		if winpath.Drive(prog) == "" {
			continue // a bare program name says nothing about a folder
		}
		if d := winpath.Dir(winpath.Resolve(prog, env)); ownFolder(d, env) {
			return d
		}
	}
	return ""
}

// ownFolder reports whether d can be a program's own install folder.
func ownFolder(d string, env winpath.Env) bool {
	drive := winpath.Drive(d)
	if drive == "" {
		return false
	}
	e := env
	if winpath.Within(d, cmp.Or(e.SystemRoot, drive+`\Windows`)) {
		return false
	}
	parts := strings.FieldsFunc(d[2:], func(r rune) bool { return r == '\\' || r == '/' })
	if len(parts) < 2 {
		return false // a drive or a folder just below it ("C:\Program Files")
	}
	for _, shared := range []string{e.ProgramFiles, e.ProgramFilesX86, e.ProgramData, e.CommonProgramFiles,
		drive + `\Program Files\Common Files`, drive + `\Program Files (x86)\Common Files`} {
		if shared != "" && strings.EqualFold(strings.TrimRight(d, `\`), strings.TrimRight(shared, `\`)) {
			return false
		}
	}
	if strings.EqualFold(parts[0], "Users") {
		// Users\name, and its AppData, Local, Roaming, LocalLow, Programs.
		last := strings.ToLower(parts[len(parts)-1])
		if len(parts) <= 2 || len(parts) <= 5 && (last == "appdata" || last == "local" || last == "roaming" || last == "locallow" || last == "programs") {
			return false
		}
	}
	return true
}

// installDate formats InstallDate's usual YYYYMMDD as YYYY-MM-DD; other
// forms are shown as recorded, nonsense not at all.
func installDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 8 {
		if t, err := time.Parse("20060102", s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	if s != "" && len(s) <= 32 && strings.ContainsAny(s, "0123456789") {
		return s
	}
	return ""
}
