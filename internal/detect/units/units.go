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
	"github.com/avscout/avscout/internal/rootpath"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/internal/workers"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
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
//     through, a bare name looked up where systemd looks; drop-ins in
//     <unit>.d/ are not read, so a unit whose ExecStart= only a drop-in
//     sets names no program); an init script
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
// It returns an error wrapping [detect.ErrUnavailable] when the target
// has neither a unit directory nor an init script directory. It is for
// Linux targets only.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.FS == nil {
		return fmt.Errorf("units: no filesystem: %w", detect.ErrUnavailable)
	}
	c := &collector{host: h, fsys: h.FS, emit: emit, programs: map[string]lookup{}, dirs: map[string]programDir{}}
	c.list = &lister{fsys: h.FS, cache: rootpath.NewCacheWithSub(h.Sub)}
	defer c.list.cache.Close()
	defer c.release()
	enabled, err := enabledUnits(c.list)
	if err != nil {
		c.errs = append(c.errs, err)
	}
	c.enabled = enabled
	found := false
	seenDir := make(map[string]bool)
	var folders []*folder
	total := 0
	for _, dir := range unitDirs {
		// lib -> usr/lib: every name in it is seen already.
		ents, real, err := readDirOnce(c.list, dir, seenDir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		found = true // it exists, even when it cannot be read
		if err != nil {
			c.errs = append(c.errs, err)
			continue
		}
		if len(ents) == 0 {
			continue
		}
		folders = append(folders, c.folder(dir, real, ents))
		total += len(ents)
	}
	units := make([]entry, 0, total)
	for i, f := range folders {
		for _, e := range f.ents {
			name := e.Name()
			if !IsUnitName(name) || e.IsDir() || hidden(folders[:i], name) {
				continue
			}
			units = append(units, entry{f, e})
		}
	}
	c.programs = make(map[string]lookup, len(units))
	if err := c.each(ctx, units, c.unit); err != nil {
		return errors.Join(append(c.errs, err)...)
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
//
// Every name os.Root opens is walked folder by folder, so the files of
// one folder are read, and the programs of one folder looked up, through
// a sub-root of that folder ([host.Host.Sub]) where the host has one.
type collector struct {
	host     *host.Host
	fsys     fs.FS
	list     *lister // used by Collect's goroutine only
	emit     func(detect.Observation)
	enabled  map[string]bool
	programs map[string]lookup     // programs looked up, by path as written
	dirs     map[string]programDir // folders programs were looked up in
	releases []func()
	errs     []error
	readers  [maxWorkers]reader // one per worker
}

// folder is a directory of unit files or init scripts.
type folder struct {
	dir, real string        // the directory as the target names it, and link-free
	sub       fs.FS         // the directory as a sub-root; nil when there is none
	open      fs.File       // the directory opened in sub, to read its files in; nil when there is none
	fd        int           // open's descriptor where readIn can read in it, else -1
	ents      []fs.DirEntry // what it lists
	byName    []fs.DirEntry // the same sorted by name: ents itself, as listings are
}

// lookup returns the folder's entry name, nil when it lists none.
func (f *folder) lookup(name string) fs.DirEntry {
	i, ok := slices.BinarySearchFunc(f.byName, name, func(e fs.DirEntry, name string) int { return strings.Compare(e.Name(), name) })
	if !ok {
		return nil
	}
	return f.byName[i]
}

// regular reports whether the folder lists name as a regular file.
func (f *folder) regular(name string) bool {
	e := f.lookup(name)
	return e != nil && e.Type().IsRegular()
}

// hidden reports whether the unit file name is hidden by one of the same
// name in one of the earlier folders, which systemd prefers: one they
// list that is no folder.
func hidden(earlier []*folder, name string) bool {
	for _, f := range earlier {
		if e := f.lookup(name); e != nil && !e.IsDir() {
			return true
		}
	}
	return false
}

func byName(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) }

// entry is a unit file or init script as its directory lists it.
type entry struct {
	f *folder
	e fs.DirEntry
}

// folder returns the folder dir, link-free real, that lists ents, opened
// as a sub-root where it can be.
func (c *collector) folder(dir, real string, ents []fs.DirEntry) *folder {
	f := &folder{dir: dir, real: real, ents: ents, byName: ents, fd: -1}
	if !slices.IsSortedFunc(ents, byName) {
		f.byName = slices.SortedFunc(slices.Values(ents), byName)
	}
	f.sub, f.open = c.sub(real)
	if f.open != nil {
		f.fd = folderFD(f.open)
	}
	return f
}

// programDir is a folder programs are looked up in: its descriptor or
// its sub-root, or that it is certainly missing; none of them when names
// in it must be resolved.
type programDir struct {
	sub     fs.FS
	fd      int // the folder's descriptor where statIn can look in it, else -1
	missing bool
}

// sub opens the link-free folder real as a sub-root, nil when it cannot,
// and the folder itself in it, nil when it cannot.
func (c *collector) sub(real string) (fs.FS, fs.File) {
	sub, release, err := c.host.Sub(real)
	if err != nil {
		return nil, nil
	}
	c.releases = append(c.releases, release)
	open, err := sub.Open(".")
	if err != nil {
		return sub, nil
	}
	c.releases = append(c.releases, func() { open.Close() })
	return sub, open
}

// release closes the sub-roots.
func (c *collector) release() {
	for _, r := range c.releases {
		r()
	}
}

// draft is what reading one definition told, before its program is
// looked up: reading is done a few definitions at a time, looking up in
// order, once per program.
type draft struct {
	o        detect.Observation
	final    bool // o is complete: nothing to look up
	programs []string
	others   []string
	enabled  bool
	notes    []string
	warn     error // the definition could not be read
}

// maxWorkers is how many definitions are read at once. From a root
// directory, an image whose files may be on a cold disk, two readers
// overlap its waits. On a live host the units come from the page cache,
// and units is the longest source of a scan, started first (see
// sources.All): a second reader takes the CPU the other sources leave
// free near their end. With one reader on a live host, a 2-core
// machine's live scan took 20.2 ms, with two 19.4 ms (medians of 300
// alternated runs, twice in each order; CPU 25.1 -> 24.4 ms). When units
// started fifth, behind the others, a second reader only competed with
// them and one was faster.
const maxWorkers = 2

// window is how many definitions are read before they are decided and
// emitted: the drafts of one window are all that is kept at once.
const window = 32

// each reads every entry with read, a few at a time (worker w reads
// with c.readers[w]), then decides and emits the observations in the
// entries' order, a window of entries after another. It returns only
// ctx's error.
func (c *collector) each(ctx context.Context, ents []entry, read func(w int, e entry) draft) error {
	drafts := make([]draft, min(len(ents), window))
	for len(ents) > 0 {
		chunk := ents[:min(len(ents), window)]
		ents = ents[len(chunk):]
		workers.ForEachWorker(ctx, len(chunk), maxWorkers, func(w, i int) { drafts[i] = read(w, chunk[i]) })
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range chunk {
			d := &drafts[i]
			if d.warn != nil {
				c.warn(d.warn)
			}
			if !d.final {
				c.decide(&d.o, d.programs, d.others, d.enabled, d.notes)
			}
			c.emit(d.o)
			*d = draft{}
		}
	}
	return nil
}

// warn records one item's failure.
func (c *collector) warn(err error) { c.errs = append(c.errs, detect.Warn(err)) }

// observation is the observation of the definition ent, before it is
// decided: a service, present, its path the definition's.
func observation(ent entry) detect.Observation {
	name := ent.e.Name()
	// path.Join of a clean folder and a listed name (one component), with
	// the root's slash: one string, of which Location is the tail.
	p := "/" + ent.f.dir + "/" + name
	return detect.Observation{
		Kind:     detect.KindService,
		Status:   detect.Present,
		Name:     name,
		Path:     p,
		Location: p[1:],
	}
}

// unit reads the unit file ent as worker w. It may run with others at
// once.
func (c *collector) unit(w int, ent entry) draft {
	name := ent.e.Name()
	d := draft{o: observation(ent)}
	loc := d.o.Location
	final := func(notes []string, warn error) draft {
		d.o.Detail, d.final, d.warn = detail(name, notes), true, warn
		return d
	}
	r, err := c.follow(ent)
	switch {
	case err != nil:
		return final([]string{"unreadable link: " + cause(err)}, fmt.Errorf("units: %s: %w", loc, err))
	case r.target != "" && path.Clean(r.target) == devNull:
		return final([]string{"masked"}, nil)
	case r.target != "":
		d.notes = append(d.notes, "link to "+r.target+r.state)
		if r.state != "" {
			return final(d.notes, nil)
		}
	}
	d.enabled = c.enabled[name]
	if d.enabled {
		d.notes = append(d.notes, "enabled")
	}
	if strings.HasSuffix(name, ".service") {
		u, err := c.readUnit(w, ent, r)
		if err != nil {
			return final(append(d.notes, "unreadable: "+cause(err)), fmt.Errorf("units: %s: %w", loc, err))
		}
		d.programs = []string{ExecProgram(u.ExecStart)}
	}
	return d
}

// followed is where an entry's content is read: the file itself, or what
// its link leads to.
type followed struct {
	fsys   fs.FS
	name   string      // the name in fsys
	typ    fs.FileMode // the type of what name is, links followed
	target string      // the link's target as written; "" for no link
	alias  string      // the regular file of the same folder the link names; "" for none
	state  string      // why the link leads nowhere (see linkState); "" when it leads somewhere
}

// follow finds what the entry ent is, through its folder's sub-root when
// it has one; a link that leaves the folder is resolved in the whole
// root. Its error is a link's that cannot be read.
func (c *collector) follow(ent entry) (followed, error) {
	name := ent.e.Name()
	f := followed{fsys: ent.f.sub, name: name, typ: ent.e.Type()}
	if ent.f.sub == nil {
		f.fsys, f.name = c.fsys, path.Join(ent.f.real, name)
	}
	if f.typ&fs.ModeSymlink == 0 {
		return f, nil
	}
	target, err := fs.ReadLink(f.fsys, f.name)
	if err != nil {
		return f, err
	}
	f.target = target
	if path.Clean(target) == devNull {
		return f, nil
	}
	// An alias ("dbus-org.freedesktop.login1.service" ->
	// "systemd-logind.service") names a file its folder lists as a regular
	// file: that is what it leads to, read there like the file itself.
	if ent.f.open != nil && ent.f.regular(target) {
		f.typ, f.alias = 0, target
		return f, nil
	}
	if ent.f.sub != nil {
		fi, err := fs.Stat(ent.f.sub, name)
		switch {
		case err == nil:
			f.typ = fi.Mode().Type()
			return f, nil
		case errors.Is(err, fs.ErrNotExist):
			f.state = linkState(err)
			return f, nil
		}
	}
	dest, fi, err := rootpath.Resolve(c.fsys, path.Join(ent.f.real, name), rootpath.Options{})
	if f.state = linkState(err); err == nil {
		f.fsys, f.name, f.typ = c.fsys, dest, fi.Mode().Type()
	}
	return f, nil
}

// decide sets o's status, path and detail from the programs a definition
// runs (the first found wins; all missing is residue) or, when it names
// none, from the other paths it names that are executable files, or,
// failing those, from whether it is enabled.
func (c *collector) decide(o *detect.Observation, programs, others []string, enabled bool, notes []string) {
	if slices.Contains(programs, "") {
		programs = slices.DeleteFunc(slices.Clone(programs), func(p string) bool { return p == "" })
	}
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
			if l := c.lookup(o.Location, p); l.found && c.executable(l.where) {
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
	found bool
	where string // the program's target path, found on the search path for a bare name
	err   error
}

// lookup finds the program p (an absolute target path, or a bare name
// systemd looks up on its search path) in the root, following links
// inside it; a folder is no program. It is asked once per program.
func (c *collector) lookup(loc, p string) lookup {
	l, ok := c.programs[p]
	if ok {
		return l
	}
	if strings.HasPrefix(p, "/") {
		abs := path.Clean(p)
		l = c.find(abs[1:], abs)
	} else if !strings.Contains(p, "/") {
		for _, dir := range searchPath {
			if l = c.find(path.Join(dir, p), ""); l.found || l.err != nil {
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

// rel is the program's clean path relative to the root, abs the same
// with the root's slash, or "" to make it.
func (c *collector) find(rel, abs string) lookup {
	// Most programs are reached without links, or through relative ones
	// (/sbin -> usr/sbin) the filesystem follows itself: one lstat in
	// their open folder (or one stat in its sub-root where it cannot be
	// opened as a folder of this machine), which also says for certain
	// that a name is missing. Only what that cannot answer — a link, a
	// name behind an absolute link, which os.Root refuses, or on a host
	// without sub-roots — is resolved component by component.
	dir, base := path.Split(rel)
	d, ok := c.dirs[dir]
	if !ok {
		d = c.programDir(path.Clean(dir))
		c.dirs[dir] = d
	}
	if d.missing {
		return lookup{}
	}
	if abs == "" {
		abs = "/" + rel
	}
	// A name that is no link is told by one lstat in the open folder,
	// without os.Root's work and garbage; a link, or what that cannot
	// tell, is looked up as below.
	if d.fd >= 0 && base != "" && base != "." && base != ".." {
		typ, err := statIn(d.fd, base)
		switch {
		case err == nil && typ.IsRegular():
			return lookup{found: true, where: abs}
		case err == nil && typ&fs.ModeSymlink == 0: // a folder, a device: no program
			return lookup{}
		case errors.Is(err, fs.ErrNotExist):
			return lookup{}
		}
	}
	var fi fs.FileInfo
	err := host.ErrNoSub
	if d.sub != nil {
		fi, err = fs.Stat(d.sub, base)
		if errors.Is(err, fs.ErrNotExist) {
			return lookup{}
		}
	}
	if err != nil {
		_, fi, err = rootpath.Resolve(c.fsys, rel, rootpath.Options{})
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, rootpath.ErrNotDir):
		return lookup{}
	case err != nil:
		return lookup{err: err}
	case !fi.Mode().IsRegular():
		return lookup{}
	}
	return lookup{found: true, where: abs}
}

// programDir opens the folder dir programs are looked up in: as a
// folder of this machine where it can (see statIn), else as a sub-root.
func (c *collector) programDir(dir string) programDir {
	d := programDir{fd: -1}
	f, err := c.fsys.Open(dir)
	switch {
	case err == nil:
		if d.fd = folderFD(f); d.fd >= 0 {
			c.releases = append(c.releases, func() { f.Close() })
			return d
		}
		f.Close()
	case errors.Is(err, fs.ErrNotExist):
		d.missing = true
		return d
	}
	sub, release, err := c.host.Sub(dir)
	switch {
	case err == nil:
		d.sub = sub
		c.releases = append(c.releases, release)
	case errors.Is(err, fs.ErrNotExist):
		d.missing = true
	}
	return d
}

// executable reports whether the program found at target path p has an
// execute permission bit.
func (c *collector) executable(p string) bool {
	fi, err := fs.Stat(c.fsys, strings.TrimPrefix(p, "/"))
	if err != nil {
		_, fi, err = rootpath.Resolve(c.fsys, strings.TrimPrefix(p, "/"), rootpath.Options{})
	}
	return err == nil && fi.Mode().Perm()&0o111 != 0
}

// linkState is "" when a link resolved with err leads to something, else
// why not.
func linkState(err error) string {
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
	started, rcErr := startLinks(c.list)
	if rcErr != nil {
		c.errs = append(c.errs, rcErr)
	}
	levels, lvErr := runlevels(c.list)
	if lvErr != nil {
		c.errs = append(c.errs, lvErr)
	}
	seenDir := map[string]bool{}
	seen := map[string]bool{}
	var scripts []entry
	for _, dir := range initDirs {
		ents, real, err := c.list.readDir(dir)
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
		f := c.folder(dir, real, ents)
		for _, e := range ents {
			name := e.Name()
			if e.IsDir() || !isInitScript(name) || seen[name] {
				continue
			}
			seen[name] = true
			scripts = append(scripts, entry{f, e})
		}
	}
	return ok, c.each(ctx, scripts, func(w int, ent entry) draft {
		return c.script(w, ent, started[ent.e.Name()], levels[ent.e.Name()])
	})
}

// script reads the init script ent as worker w, started by an rc link
// or in the OpenRC runlevels levels. It may run with others at once.
func (c *collector) script(w int, ent entry, started bool, levels []string) draft {
	name := ent.e.Name()
	d := draft{o: observation(ent)}
	loc := d.o.Location
	var link []string
	r, err := c.follow(ent)
	if r.target != "" {
		link = append(link, "link to "+r.target+r.state)
	}
	if err != nil || r.state != "" {
		d.o.Detail, d.final = detail(name, append([]string{"SysV init script"}, link...)), true
		if err != nil {
			d.warn = fmt.Errorf("units: %s: %w", loc, err)
		}
		return d
	}
	sc, err := c.readScript(w, ent, r)
	kind := "SysV init script"
	if err == nil && sc.OpenRC {
		kind = "OpenRC init script"
	}
	d.notes = append([]string{kind}, link...)
	d.enabled = started && !sc.OpenRC
	switch {
	case sc.OpenRC && len(levels) > 0:
		d.enabled = true
		d.notes = append(d.notes, "enabled in "+strings.Join(levels, ", "))
	case d.enabled:
		d.notes = append(d.notes, "enabled")
	}
	if err != nil {
		d.o.Detail, d.final = detail(name, append(d.notes, "unreadable: "+cause(err))), true
		d.warn = fmt.Errorf("units: %s: %w", loc, err)
		return d
	}
	d.programs, d.others = sc.Programs, sc.Others
	return d
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
func enabledUnits(l *lister) (map[string]bool, error) {
	enabled := make(map[string]bool)
	ents, real, err := l.readDir(enableDirs)
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
		links, _, err := l.readDir(path.Join(real, n))
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

// startLink returns the script an rc start link names: S, a two-digit
// order, the script (what `^S[0-9][0-9](.+)$` matches).
func startLink(name string) (string, bool) {
	if len(name) < 4 || name[0] != 'S' || !isDigit(name[1]) || !isDigit(name[2]) || strings.Contains(name[3:], "\n") {
		return "", false
	}
	return name[3:], true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// startLinks returns the init scripts started in the boot or a
// multi-user runlevel.
func startLinks(l *lister) (map[string]bool, error) {
	started := make(map[string]bool)
	var errs []error
	for _, dir := range rcDirs {
		ents, _, err := l.readDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range ents {
			if script, ok := startLink(e.Name()); ok {
				started[script] = true
			}
		}
	}
	return started, errors.Join(errs...)
}

// runlevels returns, per OpenRC script, the runlevels that start it
// (etc/runlevels/<level>/<script>), sorted; shutdown, which only stops
// things, does not count.
func runlevels(l *lister) (map[string][]string, error) {
	out := make(map[string][]string)
	levels, real, err := l.readDir(runlevelsDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return out, nil
		}
		return out, err
	}
	var errs []error
	for _, lv := range levels {
		if lv.Name() == "shutdown" || !lv.IsDir() {
			continue
		}
		ents, _, err := l.readDir(path.Join(real, lv.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			out[e.Name()] = append(out[e.Name()], lv.Name())
		}
	}
	return out, errors.Join(errs...)
}

// readUnit reads and parses the unit file of ent, found at r, as worker
// w.
func (c *collector) readUnit(w int, ent entry, r followed) (Unit, error) {
	data, err := c.read(w, ent, r)
	if err != nil {
		return Unit{}, err
	}
	return parseUnit(data), nil
}

// readScript reads and parses the init script of ent, as readUnit does.
func (c *collector) readScript(w int, ent entry, r followed) (Script, error) {
	data, err := c.read(w, ent, r)
	if err != nil {
		return Script{}, err
	}
	return parseInitScript(data), nil
}

// read reads the definition of ent, found at r, as worker w: a regular
// file listed in its folder is read in the open folder where it can be,
// into the worker's buffer (see readIn), any other (a link, or a file
// readIn cannot read) through fs.FS, following links inside the root.
// What it returns is only good until w's next read.
func (c *collector) read(w int, ent entry, r followed) ([]byte, error) {
	name := ent.e.Name()
	if r.alias != "" {
		name = r.alias
	}
	if ent.f.fd >= 0 && (r.target == "" || r.alias != "") && r.typ.IsRegular() {
		if data, ok := readIn(ent.f.fd, name, &c.readers[w], MaxFile); ok {
			return data, nil
		}
	}
	return readDefinition(r.fsys, r.name, r.typ)
}

// readDefinition reads a unit file or init script whole, up to MaxFile.
func readDefinition(fsys fs.FS, name string, t fs.FileMode) ([]byte, error) {
	f, size, err := openRegular(fsys, name, t)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readSized(f, size)
}

// errNotRegular means a unit file or script is a device, a named pipe or
// a folder: it is not opened, so a pipe cannot block the scan.
var errNotRegular = safefs.ErrNotRegular

// openRegular opens name, whose directory lists it with type t (a
// link-free name when it is no link), when it is a regular file of at
// most MaxFile bytes, and returns its size; a link is followed inside the
// root. Only a regular file is opened: a named pipe would block.
func openRegular(fsys fs.FS, name string, t fs.FileMode) (fs.File, int, error) {
	real := name
	if !t.IsRegular() {
		r, fi, err := rootpath.Resolve(fsys, name, rootpath.Options{})
		if err != nil {
			return nil, 0, err
		}
		if !fi.Mode().IsRegular() {
			return nil, 0, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
		}
		real = r
	}
	// safefs checks the type once open too: replaced since it was listed,
	// a named pipe still cannot block the scan.
	f, err := safefs.Open(context.Background(), fsys, real, safefs.Text)
	if err != nil {
		return nil, 0, err
	}
	if f.Size() > MaxFile {
		f.Close()
		return nil, 0, &fs.PathError{Op: "open", Path: name, Err: ErrTooLarge}
	}
	return f, int(f.Size()), nil
}

// lister lists the target's folders for one scan. Its cache keeps the
// lstat of each name resolved on the way, so that the folders of /etc
// (systemd/system, its .wants folders, rc2.d…) do not each look up /etc
// anew; it is used by one goroutine only.
type lister struct {
	fsys  fs.FS
	cache *rootpath.Cache
	buf   []byte // the folders' records are read in; made on first use
}

// readDir lists the target directory dir, following links on the way as
// the target would (see [rootpath.Resolve]). It returns the entries sorted by
// name and the name fsys holds the directory under.
func (l *lister) readDir(dir string) ([]fs.DirEntry, string, error) {
	return readDirOnce(l, dir, nil)
}

// readDirOnce is [lister.readDir], except that it lists nothing, and returns no
// entries and no error, when the link-free name of dir is one seen holds:
// a folder reached twice (lib/systemd/system when lib links to usr/lib)
// is read once. It adds the name to seen.
func readDirOnce(l *lister, dir string, seen map[string]bool) ([]fs.DirEntry, string, error) {
	fsys := l.fsys
	real, fi, err := rootpath.Resolve(fsys, dir, rootpath.Options{Cache: l.cache})
	if err != nil {
		return nil, "", fmt.Errorf("units: %w", err)
	}
	if !fi.IsDir() {
		return nil, real, fmt.Errorf("units: %s: %w", dir, rootpath.ErrNotDir)
	}
	if seen != nil {
		if seen[real] {
			return nil, real, nil
		}
		seen[real] = true
	}
	// In the sub-root of its folder when the cache has one: the folder is
	// the same, link-free, and opening it costs one open.
	lfs, lname := fsys, real
	if parent, base := path.Split(real); parent != "" {
		if sub := l.cache.Sub(strings.TrimSuffix(parent, "/")); sub != nil {
			lfs, lname = sub, base
		}
	}
	if l.buf == nil {
		l.buf = make([]byte, direntBuf)
	}
	ents, err := listDir(lfs, lname, l.buf)
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == lname {
		pe.Path = real
	}
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
