// Package dpkg observes the packages recorded in a Debian-family package
// database: var/lib/dpkg/status, the per-package files of distroless
// images in var/lib/dpkg/status.d/, and the updates/ journal dpkg leaves
// when it is interrupted.
//
// It exists because the package database is the most reliable witness of
// Linux security software: Kaspersky, Microsoft, CrowdStrike and others ship
// .deb packages, and dpkg keeps a record even after removal (config-files).
// The package reports every record it reads, as written, and judges
// nothing: which maintainer or name means Kaspersky is the catalog's call.
//
// The status-file parser, [ParseStatus], is pure and streaming, so a
// 100,000-package database costs a few megabytes at most.
package dpkg

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/errlist"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
)

// Where dpkg keeps its database, relative to the root.
const (
	StatusPath  = "var/lib/dpkg/status"
	StatusDDir  = "var/lib/dpkg/status.d"
	UpdatesDir  = "var/lib/dpkg/updates"
	sourceName  = "dpkg"
	maxReported = 10 // record-level problems kept per scan; the rest are counted
)

// Source reads the dpkg database of a host. Its zero value is ready.
type Source struct {
	// Filter, when set, tells the source which packages the scan may
	// keep; it builds and emits no observation of the others. nil keeps
	// every package.
	Filter Filter

	splitMin int64 // see splitMin; zero means splitMin
}

// Filter is how a scan tells the source, from a record's raw fields,
// which packages it may keep: on a database of 100,000 packages, of which
// a scan keeps a handful, building the observations of the others is most
// of the source's work.
type Filter interface {
	// RelevantPackage reports whether the scan may keep the observation
	// of a package with this name and maintainer, as recorded; name is
	// valid only during the call. It must say yes to every package the
	// scan would keep. The source asks it once for each record it would
	// emit (not for one whose Status says nothing is installed, nor for
	// one whose Status it does not know, which it always emits), so a
	// scan that counts what the source saw adds the no answers.
	RelevantPackage(name []byte, maintainer string) bool
}

var _ detect.Source = Source{}

// Name is "dpkg".
func (Source) Name() string { return sourceName }

// Collect emits one [detect.KindPackage] observation per record of the
// status file, of each status.d file and of each updates/ journal entry
// (which supersede the status file's record of the same package, as dpkg
// itself does). It returns an error wrapping [detect.ErrUnavailable] when
// the host has neither a status file nor a status.d directory.
//
// The record's Status decides the observation's:
//   - "… installed", "… triggers-awaited", "… triggers-pending": Installed.
//     Triggered packages are configured and working; they only wait for
//     another package's trigger to run. The want word (install, hold,
//     deinstall, purge) does not matter: the files are there until dpkg
//     acts on it.
//   - "… config-files": Residual (removed, configuration left).
//   - "… half-installed", "… unpacked", "… half-configured": Residual, with
//     the state in Detail (an interrupted or failed install or removal).
//   - "… not-installed": skipped; nothing is on disk.
//   - no Status field: Installed. status.d files (distroless) hold
//     `dpkg-deb --field` output, which has none; the image builder put
//     every package there installed.
//   - anything else: Present, and reported as a problem.
func (s Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h == nil || h.FS == nil {
		return fmt.Errorf("dpkg: no filesystem: %w", detect.ErrUnavailable)
	}
	c := collector{ctx: ctx, fsys: h.FS, emit: emit, filter: s.Filter, splitMin: s.splitMin,
		problems: errlist.List{Max: maxReported, What: "records with an unknown Status"}}
	if c.splitMin <= 0 {
		c.splitMin = splitMin
	}

	_, statusErr := fs.Stat(h.FS, StatusPath)
	statusD, statusDErr := fs.ReadDir(h.FS, StatusDDir)
	if errors.Is(statusErr, fs.ErrNotExist) && errors.Is(statusDErr, fs.ErrNotExist) {
		return fmt.Errorf("no %s or %s: %w", StatusPath, StatusDDir, detect.ErrUnavailable)
	}

	// The journal first: its records replace those of the status file.
	overrides := c.readUpdates()
	if !errors.Is(statusErr, fs.ErrNotExist) {
		c.file(StatusPath, overrides, false)
	}
	if statusDErr != nil && !errors.Is(statusDErr, fs.ErrNotExist) {
		c.fail(fmt.Errorf("reading %s: %w", StatusDDir, statusDErr))
	}
	for _, e := range statusD {
		if ctx.Err() != nil {
			c.fail(ctx.Err())
			break
		}
		name := e.Name()
		// <pkg>.md5sums files sit next to the records in distroless
		// images; dot files are editor or overlay leftovers.
		if e.IsDir() || strings.HasSuffix(name, ".md5sums") || strings.HasPrefix(name, ".") {
			continue
		}
		c.file(path.Join(StatusDDir, name), journal{}, true)
	}
	for _, u := range overrides.list {
		c.observe(u.pkg, u.location)
	}
	return c.err()
}

// collector carries one Collect call's state.
type collector struct {
	ctx    context.Context
	fsys   fs.FS
	emit   func(detect.Observation)
	filter Filter // nil keeps all
	// splitMin is the size from which the status file is parsed in two
	// parts at once (see parseSplit).
	splitMin int64

	errs     []error      // file-level errors, all kept
	problems errlist.List // record-level problems: the first maxReported, and a count
	buf      []byte       // a detail being built
}

// journal holds the updates/ records that supersede the status file's.
type journal struct {
	list  []journalEntry
	byKey map[string]bool // name + "\x00" + architecture
}

type journalEntry struct {
	pkg      Package
	location string
}

func pkgKey(p Package) string { return p.Name + "\x00" + p.Architecture }

// readUpdates reads var/lib/dpkg/updates/NNNN in numeric order; a later
// entry replaces an earlier one for the same package, as in dpkg. Entries
// exist only while dpkg runs or after it was interrupted.
func (c *collector) readUpdates() journal {
	j := journal{byKey: map[string]bool{}}
	entries, err := fs.ReadDir(c.fsys, UpdatesDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.fail(fmt.Errorf("reading %s: %w", UpdatesDir, err))
		}
		return j
	}
	type numbered struct {
		n    int
		name string
	}
	var files []numbered
	for _, e := range entries {
		// dpkg names journal entries with digits only; "tmp.i" is a
		// half-written one it ignores too.
		n, err := strconv.Atoi(e.Name())
		if err != nil || n < 0 || e.IsDir() {
			continue
		}
		files = append(files, numbered{n, e.Name()})
	}
	slices.SortFunc(files, func(a, b numbered) int { return cmp.Compare(a.n, b.n) })
	index := map[string]int{}
	for _, f := range files {
		loc := path.Join(UpdatesDir, f.name)
		entry := func(r *record) error {
			p := r.Package()
			k := pkgKey(p)
			if i, ok := index[k]; ok {
				j.list[i] = journalEntry{p, loc}
				return nil
			}
			index[k] = len(j.list)
			j.list = append(j.list, journalEntry{p, loc})
			j.byKey[k] = true
			return nil
		}
		c.parse(loc, true, func(f *safefs.File) error { return parseRecords(f, false, entry) })
	}
	return j
}

// file emits the records of one status-format file, except those the
// journal supersedes. item says the file is one entry of several (a
// status.d file), whose records go unread where the journal has newer ones.
//
// A large status file is parsed in two parts at once (see parseSplit).
func (c *collector) file(name string, skip journal, item bool) {
	var key []byte
	fn := func(r *record) error {
		if st, known, ok := skip.wanted(r, c.filter, &key); ok {
			c.emitRecord(r, name, st, known)
		}
		return nil
	}
	c.parse(name, item, func(f *safefs.File) error {
		if fork, ok := c.filter.(Forker); ok && !item && f.Size() >= c.splitMin && f.RandomAccess() {
			return c.parseSplit(f, name, skip, fork, fn)
		}
		return parseRecords(f, false, fn)
	})
}

// parse opens one file and reads it with read, recording its errors. The
// file is opened with [safefs.Open]: a named pipe, a device or a file
// over the cap of a package database fails at once. A file that cannot be
// read through is the source's error, an item (a status.d file, a journal
// entry: one package each) as much as the status file: the package it
// holds may be the one a scan looks for, so the scan cannot say it is
// not there. An item removed meanwhile (dpkg finished) is no error, and
// one that is no regular file (a pipe planted there: dpkg writes none,
// and it hides no record) is a warning.
func (c *collector) parse(name string, item bool, read func(*safefs.File) error) {
	f, err := safefs.Open(c.ctx, c.fsys, name, safefs.PackageDB)
	switch {
	case item && errors.Is(err, fs.ErrNotExist):
		return
	case item && errors.Is(err, safefs.ErrNotRegular):
		err = detect.Warn(err)
	}
	if err != nil {
		c.fail(err) // an *fs.PathError names the file
		return
	}
	defer f.Close()
	if err := read(f); err != nil {
		c.fail(fmt.Errorf("%s: %w", name, err))
	}
}

// observe turns one record into an observation.
func (c *collector) observe(p Package, location string) {
	if st, ok, known := classify(p.Status); ok {
		c.emitPackage(p, location, detail(p), st, known)
	}
}

// wanted reports whether a record the parser delivers is observed, and
// as what (see classify): not when the journal j has a newer record of
// its package, nor when filter (nil keeps all) says no to a package of a
// Status dpkg writes. key is a buffer for the journal's look-up, one per
// goroutine. A record it says no to costs nothing more: no string, no
// observation.
func (j journal) wanted(r *record, filter Filter, key *[]byte) (st detect.Status, known, ok bool) {
	if len(j.byKey) > 0 {
		*key = append(append(append((*key)[:0], r.name...), 0), r.pkg.Architecture...)
		if j.byKey[string(*key)] { // pkgKey, without a string per record
			return st, known, false
		}
	}
	st, ok, known = classify(r.pkg.Status)
	if !ok || (known && filter != nil && !filter.RelevantPackage(r.name, r.pkg.Maintainer)) {
		return st, known, false
	}
	return st, known, true
}

// emitRecord emits the observation of a record that wanted keeps, with
// one string per package: its detail, of which the name and the version
// are parts.
func (c *collector) emitRecord(r *record, location string, st detect.Status, known bool) {
	p := r.pkg
	c.buf = appendDetail(c.buf[:0], r.name, r.version, p.Status)
	d := string(c.buf)
	p.Name = d[:len(r.name)]
	if len(r.version) > 0 {
		p.Version = d[len(r.name)+1:][:len(r.version)]
	}
	c.emitPackage(p, location, d, st, known)
}

// emitPackage emits the observation of a package that classify keeps, as
// st; known is classify's.
func (c *collector) emitPackage(p Package, location, detail string, st detect.Status, known bool) {
	if !known {
		c.problem(fmt.Errorf("%s: line %d: package %s: unknown Status %q", location, p.Line, p.Name, p.Status))
	}
	c.emit(detect.Observation{
		Kind:     detect.KindPackage,
		Status:   st,
		Name:     p.Name,
		Version:  p.Version,
		Vendor:   p.Maintainer,
		Location: location,
		Detail:   detail,
	})
}

// detail is the evidence as a human reads it: "kesl 12.1.0-2968 (install
// ok installed)".
func detail(p Package) string {
	return string(appendDetail(nil, []byte(p.Name), []byte(p.Version), p.Status))
}

// appendDetail appends the detail of a package to b: its name, then its
// version and its status when it has them. The name comes first and the
// version after one space, which emitRecord relies on.
func appendDetail(b, name, version []byte, status string) []byte {
	b = append(b, name...)
	if len(version) > 0 {
		b = append(append(b, ' '), version...)
	}
	if status != "" {
		b = append(append(append(b, " ("...), status...), ')')
	}
	return b
}

// classify maps a Status value ("want flag state") to an observation
// status; see [Source.Collect]. ok is false for records that say nothing is
// installed; known is false for a value dpkg does not write.
func classify(status string) (st detect.Status, ok, known bool) {
	if status == "" {
		return detect.Installed, true, true
	}
	// Three words separated by single spaces, as dpkg writes them; the
	// third is the state. Split by hand: this runs for every package.
	_, rest, ok1 := strings.Cut(status, " ")
	_, state, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || strings.Contains(state, " ") {
		return detect.Present, true, false
	}
	switch state {
	case "installed", "triggers-awaited", "triggers-pending":
		return detect.Installed, true, true
	case "config-files", "half-installed", "unpacked", "half-configured":
		return detect.Residual, true, true
	case "not-installed":
		return detect.Present, false, true
	}
	return detect.Present, true, false
}

func (c *collector) fail(err error) { c.errs = append(c.errs, err) }

func (c *collector) problem(err error) { c.problems.Add(err) }

func (c *collector) err() error { return errors.Join(append(c.errs, c.problems.Err())...) }
