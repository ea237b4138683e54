// Package units is the "units" source: the service definitions of a Linux
// target, that is systemd unit files, SysV init scripts and OpenRC init
// scripts.
//
// A unit file is the surest sign on Linux that a daemon was installed, and
// often its longest-lived trace: package removal can leave a unit behind, an
// admin may have masked it instead of removing the product, and software
// installed from a tarball (Kaspersky's klnagent, many EDR agents) has a unit
// or init script but no package. So the source reads each definition for
// the program it runs and looks that program up: a definition whose program
// is there is an install, one whose program is gone is what an uninstall
// left behind (a removed Debian package keeps its /etc/init.d script as a
// conffile). It knows no vendor: the catalog judges the names and paths.
package units

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
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

// initDirs hold SysV and OpenRC init scripts: /etc/init.d, and on Red Hat
// likes /etc/rc.d/init.d (to which /etc/init.d usually links). rcDirs
// hold the SysV start links (S<nn><script>) of the boot and multi-user
// runlevels; runlevelsDir the OpenRC runlevels, a folder each holding
// links named after the scripts they start.
var (
	initDirs = []string{"etc/init.d", "etc/rc.d/init.d"}
	rcDirs   = []string{
		"etc/rcS.d", "etc/rc2.d", "etc/rc3.d", "etc/rc4.d", "etc/rc5.d",
		"etc/rc.d/rc2.d", "etc/rc.d/rc3.d", "etc/rc.d/rc4.d", "etc/rc.d/rc5.d",
	}
)

const runlevelsDir = "etc/runlevels"

// unitSuffixes are the unit types systemd loads from unit files.
var unitSuffixes = []string{
	".service", ".socket", ".target", ".timer", ".path", ".mount",
	".automount", ".swap", ".slice", ".scope", ".device",
}

// devNull is the link target that masks a unit.
const devNull = "/dev/null"

// Source lists systemd units and SysV and OpenRC init scripts.
type Source struct{}

// New returns the units source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "units" }

// Collect implements [detect.Source]. It emits one [detect.KindService]
// observation per unit file name (the first found in systemd's precedence
// order wins) and per init script, Location being the unit or script file
// (relative to the root). Its state comes from the program it runs:
//
//   - a service unit runs the program of its ExecStart= (the prefixes
//     -@:+!| taken off, a wrapper such as /bin/sh -c or env looked
//     through, a bare name looked up where systemd looks); an init script
//     the program its DAEMON=-like variables, start-stop-daemon --exec,
//     daemon or exec name, else the absolute paths it runs (see
//     [ParseInitScript]);
//   - when that program exists in the root the status is Installed, Path
//     is the program (so the catalog sees whose folder it lies in) and the
//     detail says "runs <program>";
//   - when it is missing the status is Present — residue, such as the
//     init script a removed Debian package keeps as a conffile — Path is
//     the program as written and the detail says "program missing";
//   - when no program can be told (a target, a timer, a script that runs
//     only variables), the status is Installed when the definition is
//     enabled, else Present, and Path is the definition's own path;
//   - a masked unit (a link to /dev/null), a broken link and a file that
//     cannot be read are Present.
//
// The detail also says whether the definition is enabled: a link to the
// unit in a .wants or .requires directory of /etc/systemd/system, an S
// link to the script in /etc/rc[S2-5].d (or /etc/rc.d/rc[2-5].d), or the
// script in an OpenRC runlevel other than shutdown ("enabled in
// default"). Unit files and scripts are read whole up to 256 KiB, regular
// files only. A definition that cannot be read, or whose program cannot be
// looked up, is one item's failure: a warning ([detect.Warn]).
//
// It returns an error wrapping [detect.ErrUnavailable] when the target is
// not Linux or has neither a unit directory nor an init script directory.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.OS != host.Linux {
		return fmt.Errorf("units: systemd units are a Linux thing, target is %q: %w", h.OS, detect.ErrUnavailable)
	}
	if h.FS == nil {
		return fmt.Errorf("units: no filesystem: %w", detect.ErrUnavailable)
	}
	c := &collector{fsys: h.FS, emit: emit, programs: map[string]lookup{}}
	enabled, err := enabledUnits(h.FS)
	if err != nil {
		c.errs = append(c.errs, err)
	}
	c.enabled = enabled
	found := false
	seen := make(map[string]bool)
	for _, dir := range unitDirs {
		ents, real, err := readDir(h.FS, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		found = true // it exists, even when it cannot be read
		if err != nil {
			c.errs = append(c.errs, err)
			continue
		}
		for i, e := range ents {
			if i%64 == 0 {
				if err := ctx.Err(); err != nil {
					return errors.Join(append(c.errs, err)...)
				}
			}
			name := e.Name()
			if !IsUnitName(name) || seen[name] || e.IsDir() {
				continue
			}
			seen[name] = true
			emit(c.unit(dir, real, e))
		}
	}
	ok, err := c.collectInit(ctx)
	if ok {
		found = true
	}
	if err != nil {
		if ctx.Err() != nil {
			return errors.Join(append(c.errs, err)...)
		}
		c.errs = append(c.errs, err)
	}
	if !found {
		return fmt.Errorf("units: no systemd unit directory and no /%s in root %s: %w", initDirs[0], h.Root, detect.ErrUnavailable)
	}
	return errors.Join(c.errs...)
}

// collector is one scan's reading of unit files and init scripts.
type collector struct {
	fsys     fs.FS
	emit     func(detect.Observation)
	enabled  map[string]bool
	programs map[string]lookup // programs looked up, by path as written
	errs     []error
}

// warn records one item's failure.
func (c *collector) warn(err error) { c.errs = append(c.errs, detect.Warn(err)) }

// unit describes the unit e of directory dir (read as real).
func (c *collector) unit(dir, real string, e fs.DirEntry) detect.Observation {
	name := e.Name()
	loc := path.Join(dir, name)
	o := detect.Observation{
		Kind:     detect.KindService,
		Status:   detect.Present,
		Name:     name,
		Path:     "/" + loc,
		Location: loc,
	}
	var notes []string
	if e.Type()&fs.ModeSymlink != 0 {
		target, err := fs.ReadLink(c.fsys, path.Join(real, name))
		switch {
		case err != nil:
			c.warn(fmt.Errorf("units: %s: %w", loc, err))
			o.Detail = detail(name, []string{"unreadable link: " + cause(err)})
			return o
		case path.Clean(target) == devNull:
			o.Detail = detail(name, []string{"masked"})
			return o
		}
		state := linkState(c.fsys, path.Join(real, name))
		notes = append(notes, "link to "+target+state)
		if state != "" {
			o.Detail = detail(name, notes)
			return o
		}
	}
	enabled := c.enabled[name]
	if enabled {
		notes = append(notes, "enabled")
	}
	var prog string
	if strings.HasSuffix(name, ".service") {
		u, err := readUnit(c.fsys, path.Join(real, name))
		if err != nil {
			c.warn(fmt.Errorf("units: %s: %w", loc, err))
			o.Detail = detail(name, append(notes, "unreadable: "+cause(err)))
			return o
		}
		prog = ExecProgram(u.ExecStart)
	}
	c.decide(&o, []string{prog}, nil, enabled, notes)
	return o
}

// decide sets o's status, path and detail from the programs a definition
// runs (the first found wins; all missing is residue) or, when it names
// none, from the other paths it names that are executable files, or,
// failing those, from whether it is enabled.
func (c *collector) decide(o *detect.Observation, programs, others []string, enabled bool, notes []string) {
	programs = slices.DeleteFunc(slices.Clone(programs), func(p string) bool { return p == "" })
	var missing string
	unknown := false
	for _, p := range programs {
		l := c.lookup(o.Location, p)
		switch {
		case l.err != nil:
			unknown = true
		case l.found:
			c.installed(o, l.where, notes)
			return
		case missing == "":
			missing = p
		}
	}
	if missing != "" && !unknown {
		o.Status, o.Path = detect.Present, missing
		o.Detail = detail(o.Name, append(notes, "program missing: "+missing))
		return
	}
	if len(programs) == 0 {
		for _, p := range others {
			if l := c.lookup(o.Location, p); l.found && l.executable {
				c.installed(o, l.where, notes)
				return
			}
		}
	}
	// No program told: being enabled is what shows an install.
	if enabled {
		o.Status = detect.Installed
	}
	o.Detail = detail(o.Name, notes)
}

func (c *collector) installed(o *detect.Observation, program string, notes []string) {
	o.Status, o.Path = detect.Installed, program
	o.Detail = detail(o.Name, append(notes, "runs "+program))
}

// lookup is what looking a program up found.
type lookup struct {
	found, executable bool
	where             string // the program's target path, found on the search path for a bare name
	err               error
}

// lookup finds the program p (an absolute target path, or a bare name
// systemd looks up on its search path) in the root, following links
// inside it; a folder is no program. It is asked once per program.
func (c *collector) lookup(loc, p string) lookup {
	if l, ok := c.programs[p]; ok {
		return l
	}
	var l lookup
	if strings.HasPrefix(p, "/") {
		l = c.find(strings.TrimPrefix(path.Clean(p), "/"))
	} else if !strings.Contains(p, "/") {
		for _, dir := range searchPath {
			if l = c.find(path.Join(dir, p)); l.found || l.err != nil {
				break
			}
		}
	}
	if l.err != nil {
		c.warn(fmt.Errorf("units: %s: program %s: %w", loc, p, l.err))
	}
	c.programs[p] = l
	return l
}

func (c *collector) find(rel string) lookup {
	_, fi, err := paths.Resolve(c.fsys, rel, paths.Options{})
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, paths.ErrNotDir):
		return lookup{}
	case err != nil:
		return lookup{err: err}
	case !fi.Mode().IsRegular():
		return lookup{}
	}
	return lookup{found: true, executable: fi.Mode().Perm()&0o111 != 0, where: "/" + rel}
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

// collectInit emits the SysV and OpenRC init scripts. ok says an init
// script directory exists.
func (c *collector) collectInit(ctx context.Context) (ok bool, err error) {
	started, rcErr := startLinks(c.fsys)
	if rcErr != nil {
		c.errs = append(c.errs, rcErr)
	}
	levels, lvErr := runlevels(c.fsys)
	if lvErr != nil {
		c.errs = append(c.errs, lvErr)
	}
	seenDir := map[string]bool{}
	seen := map[string]bool{}
	for _, dir := range initDirs {
		ents, real, err := readDir(c.fsys, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		ok = true
		if err != nil {
			c.errs = append(c.errs, err)
			continue
		}
		if seenDir[real] { // /etc/init.d -> rc.d/init.d
			continue
		}
		seenDir[real] = true
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return ok, err
			}
			name := e.Name()
			if e.IsDir() || !isInitScript(name) || seen[name] {
				continue
			}
			seen[name] = true
			c.emit(c.script(dir, real, e, started[name], levels[name]))
		}
	}
	return ok, nil
}

// script describes the init script e of directory dir (read as real).
func (c *collector) script(dir, real string, e fs.DirEntry, started bool, levels []string) detect.Observation {
	name := e.Name()
	loc := path.Join(dir, name)
	o := detect.Observation{
		Kind:     detect.KindService,
		Status:   detect.Present,
		Name:     name,
		Path:     "/" + loc,
		Location: loc,
	}
	file := path.Join(real, name)
	var link []string
	if e.Type()&fs.ModeSymlink != 0 {
		if target, err := fs.ReadLink(c.fsys, file); err == nil {
			state := linkState(c.fsys, file)
			link = append(link, "link to "+target+state)
			if state != "" {
				o.Detail = detail(name, append([]string{"SysV init script"}, link...))
				return o
			}
		}
	}
	sc, err := readScript(c.fsys, file)
	kind := "SysV init script"
	if err == nil && sc.OpenRC {
		kind = "OpenRC init script"
	}
	notes := append([]string{kind}, link...)
	enabled := started && !sc.OpenRC
	switch {
	case sc.OpenRC && len(levels) > 0:
		enabled = true
		notes = append(notes, "enabled in "+strings.Join(levels, ", "))
	case enabled:
		notes = append(notes, "enabled")
	}
	if err != nil {
		c.warn(fmt.Errorf("units: %s: %w", loc, err))
		o.Detail = detail(name, append(notes, "unreadable: "+cause(err)))
		return o
	}
	c.decide(&o, sc.Programs, sc.Others, enabled, notes)
	return o
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

// startLinks returns the init scripts started in the boot or a
// multi-user runlevel.
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

// runlevels returns, per OpenRC script, the runlevels that start it
// (etc/runlevels/<level>/<script>), sorted; shutdown, which only stops
// things, does not count.
func runlevels(fsys fs.FS) (map[string][]string, error) {
	out := make(map[string][]string)
	levels, real, err := readDir(fsys, runlevelsDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return out, nil
		}
		return out, err
	}
	var errs []error
	for _, l := range levels {
		if l.Name() == "shutdown" || !l.IsDir() {
			continue
		}
		ents, _, err := readDir(fsys, path.Join(real, l.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			out[e.Name()] = append(out[e.Name()], l.Name())
		}
	}
	return out, errors.Join(errs...)
}

// readUnit reads and parses the unit file name, following links inside
// the root.
func readUnit(fsys fs.FS, name string) (Unit, error) {
	f, err := openRegular(fsys, name)
	if err != nil {
		return Unit{}, err
	}
	defer f.Close()
	return ParseUnit(f)
}

// readScript reads and parses the init script name, following links
// inside the root.
func readScript(fsys fs.FS, name string) (Script, error) {
	f, err := openRegular(fsys, name)
	if err != nil {
		return Script{}, err
	}
	defer f.Close()
	return ParseInitScript(f)
}

// errNotRegular means a unit file or script is a device, a named pipe or
// a folder: it is not opened, so a pipe cannot block the scan.
var errNotRegular = errors.New("not a regular file")

// openRegular opens name, following links inside the root, when it is a
// regular file of at most MaxFile bytes.
func openRegular(fsys fs.FS, name string) (fs.File, error) {
	real, fi, err := paths.Resolve(fsys, name, paths.Options{})
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	if fi.Size() > MaxFile {
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrTooLarge}
	}
	return fsys.Open(real)
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
