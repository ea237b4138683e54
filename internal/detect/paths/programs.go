package paths

import (
	"context"
	"errors"
	"fmt"
	"github.com/avscout/avscout/internal/rootpath"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
)

// Bounds on the search for programs, so a huge or hostile folder cannot
// stall a scan.
const (
	// maxProgramDepth is how many folders below a program folder files
	// are looked at: <dir>/a/b/c/d/e/f.exe is the deepest.
	maxProgramDepth = 6
	// maxProgramEntries bounds the directory entries read in one scan,
	// over all program folders. A product's program folder holds a few
	// thousand files; its bases, when they sit beneath it, some thousands
	// more.
	maxProgramEntries = 20_000
	// headSize is how much of a candidate file is read to tell its format:
	// a PE image's header is found through the offset at 0x3c, which
	// linkers put within the first few hundred bytes.
	headSize = 4096
)

// ErrTooManyEntries means the program folders held more entries than one
// scan reads; the first ones were searched.
var ErrTooManyEntries = errors.New("too many entries")

// Programs says where a target's programs run from and what they are
// called, for [Source.WithPrograms].
type Programs struct {
	// Dirs are folders written as on the target ("/opt/kaspersky",
	// `C:\Program Files (x86)\Kaspersky Lab\KES.*`), globs allowed.
	Dirs []string
	// Executables are file-name globs of programs ("avp.exe", "klnagent"),
	// compared case-insensitively.
	Executables []string
	// Drivers are driver name globs ("klif"): on a Windows target, a file
	// <name>.sys beneath one of Dirs is that driver. Other targets ignore
	// them (their drivers are bundles or modules, found by other sources).
	Drivers []string
}

// WithPrograms returns a copy of s that also searches, on a target
// running OS o, the folders progs[o].Dirs for programs and drivers named
// as progs[o] says (see [Source.Collect]). The lists are copied.
func (s *Source) WithPrograms(progs map[host.OS]Programs) *Source {
	c := New(s.list)
	c.programs = make(map[host.OS]Programs, len(progs))
	for o, p := range progs {
		c.programs[o] = Programs{
			Dirs:        slices.Clone(p.Dirs),
			Executables: slices.Clone(p.Executables),
			Drivers:     slices.Clone(p.Drivers),
		}
	}
	return c
}

// programSearch is one scan's search of the program folders.
type programSearch struct {
	fsys  fs.FS
	os    host.OS
	opt   rootpath.Options
	exes  []string // lower-case globs
	drvs  []string // lower-case globs, Windows only
	left  int      // entries still to read
	dirs  map[string]bool
	files map[string]bool
	emit  func(detect.Observation)
	errs  []error
}

// collectPrograms searches the program folders of h's OS. Every failure
// is one item's: a folder or file that cannot be read, a bad pattern, the
// entry bound reached.
func (s *Source) collectPrograms(ctx context.Context, h *host.Host, opt rootpath.Options, emit func(detect.Observation)) error {
	p := s.programs[h.OS]
	if len(p.Dirs) == 0 || len(p.Executables) == 0 && (len(p.Drivers) == 0 || h.OS != host.Windows) {
		return nil
	}
	ps := &programSearch{
		fsys: h.FS, os: h.OS, opt: opt, left: maxProgramEntries,
		dirs: map[string]bool{}, files: map[string]bool{}, emit: emit,
	}
	ps.opt.NoFollow = false
	ps.exes = ps.compile("executable", p.Executables)
	if h.OS == host.Windows {
		ps.drvs = ps.compile("driver", p.Drivers)
	}
	// Children before their parents: a folder is searched once, from the
	// first program folder that reaches it, so the deepest-listed one
	// searches it with the most depth to spare.
	dirs := slices.Clone(p.Dirs)
	slices.Sort(dirs)
	slices.Reverse(dirs)
	for _, d := range dirs {
		concrete := []string{d}
		if isPattern(d) {
			var err error
			if concrete, err = expand(h.FS, h.OS, d, ps.opt); err != nil {
				ps.warn(fmt.Errorf("program folder %s: %w", d, err))
				continue
			}
		}
		for _, c := range concrete {
			if err := ps.search(ctx, c); err != nil {
				return errors.Join(append(ps.errs, err)...)
			}
			if ps.left <= 0 {
				ps.warn(fmt.Errorf("program folders: %w: more than %d entries, the rest were not searched", ErrTooManyEntries, maxProgramEntries))
				return errors.Join(ps.errs...)
			}
		}
	}
	return errors.Join(ps.errs...)
}

func (ps *programSearch) warn(err error) { ps.errs = append(ps.errs, detect.Warn(err)) }

// compile lower-cases the globs and drops (reporting) bad ones.
func (ps *programSearch) compile(what string, globs []string) []string {
	var out []string
	for _, g := range globs {
		g = strings.ToLower(strings.TrimSpace(g))
		if _, err := path.Match(g, ""); err != nil || g == "" {
			ps.warn(fmt.Errorf("%s name %q: bad pattern", what, g))
			continue
		}
		out = append(out, g)
	}
	return out
}

// queued is a folder to list: its name on the FS, how the target writes
// it, and how far below the program folder it is.
type queued struct {
	loc, written string
	depth        int
}

// search lists the program folder written as dir, breadth first, so the
// programs near its top are found before the entry bound is reached. It
// returns only ctx's error.
func (ps *programSearch) search(ctx context.Context, dir string) error {
	rel, err := rootpath.Target(ps.os, dir)
	if err != nil {
		ps.warn(fmt.Errorf("program folder %s: %w", dir, err))
		return nil
	}
	loc, fi, err := rootpath.Resolve(ps.fsys, rel, ps.opt)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, rootpath.ErrNotDir):
		return nil
	case err != nil:
		ps.warn(fmt.Errorf("program folder %s: %w", dir, err))
		return nil
	case !fi.IsDir():
		return nil
	}
	queue := []queued{{loc, strings.TrimRight(dir, `/\`), 0}}
	for len(queue) > 0 && ps.left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		q := queue[0]
		queue = queue[1:]
		if ps.dirs[q.loc] {
			continue
		}
		ps.dirs[q.loc] = true
		ents, err := ps.list(q.loc)
		if err != nil {
			ps.warn(fmt.Errorf("program folder %s: %w", q.written, err))
		}
		for _, e := range ents {
			name := e.Name()
			loc, written := path.Join(q.loc, name), ps.join(q.written, name)
			switch t := e.Type(); {
			case t.IsDir():
				if q.depth+1 < maxProgramDepth { // its files are at most maxProgramDepth down
					queue = append(queue, queued{loc, written, q.depth + 1})
				}
			case t.IsRegular(), t&fs.ModeSymlink != 0:
				if kind, ok := ps.named(name); ok {
					ps.check(kind, loc, written, t&fs.ModeSymlink != 0)
				}
			}
		}
	}
	return nil
}

// list reads at most ps.left entries of the folder loc, sorted by name.
func (ps *programSearch) list(loc string) ([]fs.DirEntry, error) {
	f, err := ps.fsys.Open(loc)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: loc, Err: rootpath.ErrNotDir}
	}
	var ents []fs.DirEntry
	for ps.left > 0 {
		batch, err := rd.ReadDir(min(512, ps.left))
		ents = append(ents, batch...)
		ps.left -= len(batch)
		if err == io.EOF || (err == nil && len(batch) == 0) {
			break
		}
		if err != nil {
			return sortEntries(ents), err
		}
	}
	return sortEntries(ents), nil
}

func sortEntries(ents []fs.DirEntry) []fs.DirEntry {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents
}

// join appends a name to a folder written as on the target.
func (ps *programSearch) join(dir, name string) string {
	if ps.os == host.Windows {
		return dir + `\` + name
	}
	return dir + "/" + name
}

// named says whether a file name is that of a catalogued program or, on
// Windows, driver image (<driver>.sys), and which.
func (ps *programSearch) named(name string) (detect.Kind, bool) {
	n := strings.ToLower(name)
	for _, g := range ps.exes {
		if ok, _ := path.Match(g, n); ok {
			return detect.KindExecutable, true
		}
	}
	if stem, ok := strings.CutSuffix(n, ".sys"); ok {
		for _, g := range ps.drvs {
			if ok, _ := path.Match(strings.TrimSuffix(g, ".sys"), stem); ok {
				return detect.KindDriver, true
			}
		}
	}
	return "", false
}

// check reads the head of the file loc (a link is followed inside the
// root) and reports it when it is an executable for the target.
func (ps *programSearch) check(kind detect.Kind, loc, written string, link bool) {
	if ps.files[loc] {
		return
	}
	ps.files[loc] = true
	real := loc
	if link {
		r, fi, err := rootpath.Resolve(ps.fsys, loc, ps.opt)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return // a dangling link is no program
		case err != nil:
			ps.warn(fmt.Errorf("program %s: %w", written, err))
			return
		case fi.IsDir():
			return
		case !fi.Mode().IsRegular():
			// A link named like a program to a named pipe or a device:
			// planted, never read; say so.
			ps.warn(fmt.Errorf("program %s: %s: %w (%s)", written, r, safefs.ErrNotRegular, safefs.TypeName(fi.Mode())))
			return
		}
		real = r
	}
	head, err := readHead(ps.fsys, real)
	if err != nil {
		ps.warn(fmt.Errorf("program %s: %w", written, err))
		return
	}
	format := rootpath.Format(head, ps.os)
	if format == "" {
		return
	}
	base := path.Base(loc)
	o := detect.Observation{
		Kind:     kind,
		Status:   detect.Installed,
		Name:     base,
		Path:     written,
		Location: loc,
		Detail:   fmt.Sprintf("executable %s (%s)", written, format),
	}
	if kind == detect.KindDriver {
		o.Name = base[:len(base)-len(".sys")]
		o.Detail = fmt.Sprintf("driver %s (%s)", written, format)
	}
	ps.emit(o)
}

// readHead reads the first bytes of the regular file name. Its type was
// checked in the listing: only regular files are opened, so a named pipe
// cannot block the scan; it is checked again once open ([safefs.Open]).
func readHead(fsys fs.FS, name string) ([]byte, error) {
	f, err := safefs.Open(context.Background(), fsys, name, safefs.Executable)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, headSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return head[:n], nil
}
