// Package units is the "units" source: the service definitions of a Linux
// target, that is systemd unit files and SysV init scripts.
//
// A unit file is the surest sign on Linux that a daemon was installed, and
// often its longest-lived trace: package removal can leave a unit behind, an
// admin may have masked it instead of removing the product, and software
// installed from a tarball (Kaspersky's klnagent, many EDR agents) has a unit
// but no package. The source reads directory listings only, never the unit
// files themselves, so it costs a few ReadDir calls on a live system or a
// mounted image alike. It knows no vendor: the catalog judges the names.
package units

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/paths"
	"github.com/avscout/avscout/internal/host"
)

// unitDirs are the system unit directories in systemd's order of
// precedence (systemd.unit(5)): a unit found in an earlier one hides units
// of the same name in later ones. On merged-/usr systems lib is a link to
// usr/lib, so its units are already seen there.
var unitDirs = []string{
	"etc/systemd/system",
	"run/systemd/system",
	"usr/local/lib/systemd/system",
	"usr/lib/systemd/system",
	"lib/systemd/system",
}

// enableDirs hold, in subdirectories named <unit>.wants and
// <unit>.requires, the links "systemctl enable" makes.
const enableDirs = "etc/systemd/system"

// initDir holds SysV init scripts; rcDirs hold their start links
// (S<nn><script>) for the multi-user runlevels.
const initDir = "etc/init.d"

var rcDirs = []string{"etc/rc2.d", "etc/rc3.d", "etc/rc4.d", "etc/rc5.d"}

// unitSuffixes are the unit types systemd loads from unit files.
var unitSuffixes = []string{
	".service", ".socket", ".target", ".timer", ".path", ".mount",
	".automount", ".swap", ".slice", ".scope", ".device",
}

// devNull is the link target that masks a unit.
const devNull = "/dev/null"

// Source lists systemd units and SysV init scripts.
type Source struct{}

// New returns the units source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "units" }

// Collect implements [detect.Source]. It emits one [detect.KindService]
// observation, status Present, per unit file name (the first found in
// systemd's precedence order wins) and per init script. The detail says
// "enabled" when a link to the unit sits in a .wants or .requires
// directory of /etc/systemd/system (or an S link to the script in
// /etc/rc[2-5].d), "masked" when the unit is a link to /dev/null, and
// where a linked unit points and whether that target is missing.
//
// It returns an error wrapping [detect.ErrUnavailable] when the target is
// not Linux or has neither a unit directory nor /etc/init.d.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.OS != host.Linux {
		return fmt.Errorf("units: systemd units are a Linux thing, target is %q: %w", h.OS, detect.ErrUnavailable)
	}
	if h.FS == nil {
		return fmt.Errorf("units: no filesystem: %w", detect.ErrUnavailable)
	}
	var errs []error
	enabled, err := enabledUnits(h.FS)
	if err != nil {
		errs = append(errs, err)
	}
	found := false
	seen := make(map[string]bool)
	for _, dir := range unitDirs {
		ents, real, err := readDir(h.FS, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		found = true // it exists, even when it cannot be read
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, e := range ents {
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return errors.Join(append(errs, err)...)
				}
			}
			name := e.Name()
			if !IsUnitName(name) || seen[name] || e.IsDir() {
				continue
			}
			seen[name] = true
			emit(unitObservation(h.FS, dir, real, e, enabled))
		}
	}
	if ok, err := s.collectInit(ctx, h.FS, emit); ok || err != nil {
		found = true
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !found {
		return fmt.Errorf("units: no systemd unit directory and no /%s in root %s: %w", initDir, h.Root, detect.ErrUnavailable)
	}
	return errors.Join(errs...)
}

// unitObservation describes the unit e of directory dir (read as real).
func unitObservation(fsys fs.FS, dir, real string, e fs.DirEntry, enabled map[string]bool) detect.Observation {
	name := e.Name()
	var notes []string
	if e.Type()&fs.ModeSymlink != 0 {
		target, err := fs.ReadLink(fsys, path.Join(real, name))
		switch {
		case err != nil:
			notes = append(notes, "unreadable link: "+cause(err))
		case path.Clean(target) == devNull:
			notes = append(notes, "masked")
		default:
			notes = append(notes, "link to "+target+linkState(fsys, path.Join(real, name)))
		}
	}
	if enabled[name] && !(len(notes) > 0 && notes[0] == "masked") {
		notes = append(notes, "enabled")
	}
	loc := path.Join(dir, name)
	return detect.Observation{
		Kind:     detect.KindService,
		Status:   detect.Present,
		Name:     name,
		Path:     "/" + loc,
		Location: loc,
		Detail:   detail(name, notes),
	}
}

// linkState is "" when the link at name leads to something, else why not.
func linkState(fsys fs.FS, name string) string {
	_, _, err := paths.Resolve(fsys, name, paths.Options{})
	switch {
	case err == nil:
		return ""
	case errors.Is(err, fs.ErrNotExist):
		return ", broken"
	}
	return ", unresolvable: " + cause(err)
}

// collectInit emits the SysV init scripts. ok says /etc/init.d exists.
func (*Source) collectInit(ctx context.Context, fsys fs.FS, emit func(detect.Observation)) (ok bool, err error) {
	ents, real, err := readDir(fsys, initDir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	started, rcErr := startLinks(fsys)
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		name := e.Name()
		if e.IsDir() || !isInitScript(name) {
			continue
		}
		notes := []string{"SysV init script"}
		if e.Type()&fs.ModeSymlink != 0 {
			if target, err := fs.ReadLink(fsys, path.Join(real, name)); err == nil {
				notes = append(notes, "link to "+target+linkState(fsys, path.Join(real, name)))
			}
		}
		if started[name] {
			notes = append(notes, "enabled")
		}
		loc := path.Join(initDir, name)
		emit(detect.Observation{
			Kind:     detect.KindService,
			Status:   detect.Present,
			Name:     name,
			Path:     "/" + loc,
			Location: loc,
			Detail:   detail(name, notes),
		})
	}
	return true, rcErr
}

// IsUnitName reports whether name is a unit file name: a non-empty name
// with a unit type suffix ("kesl.service", "getty@.service"). Drop-in
// directories ("kesl.service.d") and .wants directories are not.
func IsUnitName(name string) bool {
	for _, suf := range unitSuffixes {
		if strings.HasSuffix(name, suf) && len(name) > len(suf) && !strings.HasPrefix(name, ".") {
			return true
		}
	}
	return false
}

// isInitScript leaves out what /etc/init.d holds besides scripts.
func isInitScript(name string) bool {
	switch name {
	case "README", "skeleton", "functions", "rc", "rcS":
		return false
	}
	return !strings.HasPrefix(name, ".") && !strings.HasSuffix(name, "~")
}

// enabledUnits returns the units that have a link in a .wants or .requires
// directory of /etc/systemd/system. An enabled template instance
// ("getty@tty1.service") enables its template ("getty@.service") too.
func enabledUnits(fsys fs.FS) (map[string]bool, error) {
	enabled := make(map[string]bool)
	ents, real, err := readDir(fsys, enableDirs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return enabled, nil
		}
		return enabled, err
	}
	var errs []error
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".wants") && !strings.HasSuffix(n, ".requires") {
			continue
		}
		links, _, err := readDir(fsys, path.Join(real, n))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // a dangling .wants link
				errs = append(errs, err)
			}
			continue
		}
		for _, l := range links {
			unit := l.Name()
			enabled[unit] = true
			if t := template(unit); t != "" {
				enabled[t] = true
			}
		}
	}
	return enabled, errors.Join(errs...)
}

// template returns the template of a unit instance ("getty@tty1.service"
// gives "getty@.service"), or "".
func template(unit string) string {
	at := strings.IndexByte(unit, '@')
	dot := strings.LastIndexByte(unit, '.')
	if at < 0 || dot < at+2 { // not an instance, or already a template
		return ""
	}
	return unit[:at+1] + unit[dot:]
}

// startLink matches an rc start link: S, a two-digit order, the script.
var startLink = regexp.MustCompile(`^S[0-9][0-9](.+)$`)

// startLinks returns the init scripts started in a multi-user runlevel.
func startLinks(fsys fs.FS) (map[string]bool, error) {
	started := make(map[string]bool)
	var errs []error
	for _, dir := range rcDirs {
		ents, _, err := readDir(fsys, dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range ents {
			if m := startLink.FindStringSubmatch(e.Name()); m != nil {
				started[m[1]] = true
			}
		}
	}
	return started, errors.Join(errs...)
}

// readDir lists the target directory dir, following links on the way as
// the target would (see [paths.Resolve]). It returns the entries sorted by
// name and the name fsys holds the directory under.
func readDir(fsys fs.FS, dir string) ([]fs.DirEntry, string, error) {
	real, fi, err := paths.Resolve(fsys, dir, paths.Options{})
	if err != nil {
		return nil, "", fmt.Errorf("units: %w", err)
	}
	if !fi.IsDir() {
		return nil, real, fmt.Errorf("units: %s: %w", dir, paths.ErrNotDir)
	}
	ents, err := fs.ReadDir(fsys, real)
	if err != nil {
		return nil, real, fmt.Errorf("units: read %s: %w", dir, err)
	}
	return ents, real, nil
}

func detail(name string, notes []string) string {
	if len(notes) == 0 {
		return name
	}
	return name + " (" + strings.Join(notes, ", ") + ")"
}

// cause is the innermost message of err, without the path an
// fs.PathError repeats.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
