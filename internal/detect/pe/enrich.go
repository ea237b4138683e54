package pe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/safefs"
	"github.com/avscout/avscout/internal/winpath"
)

// maxWorkers bounds the files read at once.
const maxWorkers = 4

// Enricher is the "pe" enricher: for every executable that a process,
// service, driver or uninstall entry points at, and every program or
// driver file found in a product's program folder (an executable
// observation, or a driver one with the file's path), it reads the version
// resource and the Authenticode signature and reports them as a
// [detect.KindSigner] observation. Each file is read once however many
// observations point at it. Its zero value checks no chains; [New] returns
// one that asks the operating system.
type Enricher struct {
	// Trust, when set, is asked about the chain of every file carrying a
	// signature, by its path on this machine (host.LocalPath), and uses
	// this machine's trusted roots.
	Trust TrustChecker
}

// New returns the enricher with this operating system's trust checker.
func New() *Enricher { return &Enricher{Trust: OSTrust()} }

// Name implements [detect.Enricher].
func (*Enricher) Name() string { return "pe" }

// file is one executable to examine and what pointed at it.
type file struct {
	winPath string // as the first observation wrote it, made plain
	target  string // the name on h.FS, as written (before resolution)
	status  detect.Status
}

// outcome is what examining one file gave.
type outcome struct {
	obs  []detect.Observation
	skip skipReason
	err  error
	// warn is a part of the file that could not be read although the file
	// was examined (a version resource over its budget, malformed).
	warn error
}

type skipReason int

const (
	notSkipped skipReason = iota
	skipMissing
	skipUnreadable
	skipNotPE
	skipNotFile
)

func (r skipReason) String() string {
	switch r {
	case skipMissing:
		return "missing"
	case skipUnreadable:
		return "unreadable"
	case skipNotPE:
		return "not a PE file"
	case skipNotFile:
		return "not a regular file"
	}
	return ""
}

// Enrich implements [detect.Enricher]. It emits, for each distinct
// executable, one observation per distinct valid signer (the first
// carrying the version resource), or one without Signer when the file has
// no valid signature but has a version resource or a broken signature.
// Files that are missing, unreadable or not PE images are counted and
// reported in the returned error, a [*SkipError] marked as a warning
// ([detect.Warn]: one file each, the rest examined); they never stop the
// others.
func (e *Enricher) Enrich(ctx context.Context, h *host.Host, obs []detect.Observation, emit func(detect.Observation)) error {
	if h.OS != host.Windows {
		return fmt.Errorf("pe: target is %s: %w", h.OS, detect.ErrUnavailable)
	}
	if h.FS == nil {
		return fmt.Errorf("pe: no filesystem: %w", detect.ErrUnavailable)
	}
	files, badPaths := collect(h, obs)
	if len(files) == 0 && badPaths == 0 {
		return nil
	}

	// Examine concurrently, emit in order, so reports stay deterministic.
	// Every examining goroutine has returned before Enrich does, timed
	// out or not: none is left reading behind the scan.
	outcomes := make([]outcome, len(files))
	done := make([]chan struct{}, len(files))
	sem := make(chan struct{}, min(maxWorkers, max(1, runtime.GOMAXPROCS(0))))
	missing := missingFiles(h, files)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range files {
		done[i] = make(chan struct{})
		if missing[i] {
			outcomes[i] = outcome{skip: skipMissing}
			close(done[i])
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				outcomes[i].err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			outcomes[i] = e.examine(ctx, h, files[i])
		}()
	}
	tally := newSkipTally(len(files) + badPaths)
	tally.badPaths = badPaths
	var warns []error
	for i, f := range files {
		select {
		case <-done[i]:
		case <-ctx.Done():
			return fmt.Errorf("pe: %w", ctx.Err())
		}
		o := outcomes[i]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pe: %w", err)
		}
		for _, ob := range o.obs {
			emit(ob)
		}
		if o.skip != notSkipped {
			tally.add(o.skip, f.winPath, o.err)
		}
		if o.warn != nil && len(warns) < detect.MaxWarnings {
			warns = append(warns, detect.Warn(o.warn))
		}
	}
	// Each file is one item: the others were examined.
	if len(warns) == 0 {
		return detect.Warn(tally.err())
	}
	return errors.Join(append([]error{detect.Warn(tally.err())}, warns...)...)
}

// collect gathers the distinct executables the observations point at, in
// the order first seen, each with the highest status of those pointing at
// it, and counts the paths that cannot be looked up.
func collect(h *host.Host, obs []detect.Observation) ([]file, int) {
	drive := systemDrive(h)
	var files []file
	index := map[string]int{}
	bad := 0
	for _, o := range obs {
		raw, ok := rawImage(o)
		if !ok {
			continue
		}
		wp := plainPath(raw, drive)
		if wp == "" {
			bad++ // an unknown variable, a UNC path, a relative name
			continue
		}
		if !onDrive(h, wp, drive) {
			continue // another volume: not on this root
		}
		target, err := rootpath.Target(host.Windows, wp)
		if err != nil {
			bad++
			continue
		}
		key := strings.ToLower(target)
		if i, ok := index[key]; ok {
			files[i].status = max(files[i].status, o.Status)
			continue
		}
		index[key] = len(files)
		files = append(files, file{winPath: wp, target: target, status: o.Status})
	}
	return files, bad
}

// missingFiles tells which files are certainly missing, from one listing
// of each folder on their way rather than a lookup of each file: on a
// typical host most service and driver image paths that are read point
// at nothing (residue, or drivers Windows keeps elsewhere), hundreds of
// them in the same few folders. A file that may exist is left to examine,
// and so is a path with a short 8.3 name ("PROGRA~1"), which no listing
// shows; the executable of something running is not looked for at all.
func missingFiles(h *host.Host, files []file) []bool {
	out := make([]bool, len(files))
	check := winpath.NewChecker(h.FS, "C:")
	for i, f := range files {
		if f.status == detect.Running || strings.Contains(f.target, "~") {
			continue
		}
		if exists, known := check.Exists(`C:\` + strings.ReplaceAll(f.target, "/", `\`)); known && !exists {
			out[i] = true
		}
	}
	return out
}

// systemDrive is the drive letter of a live Windows root ("D:" for D:\),
// "C:" otherwise.
func systemDrive(h *host.Host) string {
	r := h.Root
	if len(r) >= 2 && r[1] == ':' && isLetter(r[0]) {
		return strings.ToUpper(r[:2])
	}
	return "C:"
}

// onDrive reports whether a Windows path is on the volume h.FS holds: on
// a live root that is a drive, paths on other drives are not.
func onDrive(h *host.Host, wp, drive string) bool {
	r := h.Root
	if !(len(r) >= 2 && r[1] == ':' && isLetter(r[0])) {
		return true // a mounted image: any letter means its system drive
	}
	return strings.EqualFold(wp[:2], drive)
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// examine reads one file and describes it.
func (e *Enricher) examine(ctx context.Context, h *host.Host, f file) outcome {
	fh, loc, o := open(ctx, h, f)
	if fh == nil {
		return o
	}
	defer fh.Close()
	if !fh.RandomAccess() {
		return outcome{skip: skipUnreadable, err: fmt.Errorf("%s: file does not support random access", loc)}
	}
	img, err := Open(fh, fh.Size())
	if err != nil {
		skip := skipNotPE
		if !errors.Is(err, ErrNotPE) && !errors.Is(err, ErrMalformed) {
			skip = skipUnreadable
		}
		return outcome{skip: skip, err: fmt.Errorf("%s: %w", loc, err)}
	}
	vi, viErr := img.VersionInfo()
	if errors.Is(viErr, ErrNoVersionInfo) {
		viErr = nil
	}
	sigs, sigErr := img.Signatures(ctx)
	if errors.Is(sigErr, ErrNotSigned) {
		sigErr = nil
	}
	if err := ctx.Err(); err != nil {
		return outcome{err: err}
	}
	var verdict Verdict
	if (len(sigs) > 0 || sigErr != nil) && e.Trust != nil {
		verdict = e.Trust.CheckTrust(h.LocalPath(loc))
	}
	out := outcome{obs: describe(f, loc, vi, viErr, sigs, sigErr, verdict)}
	if viErr != nil {
		out.warn = fmt.Errorf("%s: version resource: %w", loc, viErr)
	}
	return out
}

// open opens the file f names, with its name on h.FS, or returns a nil
// file and the outcome of not opening it. It opens with [safefs.Open]: a
// named pipe or a device is refused at once, a file over the cap of an
// executable too, and reads stop once ctx is done.
//
// On a filesystem that matches names in any case itself (a live Windows
// machine) the file is opened as written, the one walk down its folders
// that Windows makes anyway (a file reached through a link keeps the name
// it was reached by); one that cannot be opened so, or is no regular
// file, is resolved as elsewhere: [rootpath.Resolve] looks at each folder on
// the way, which costs a lookup and a volume query per folder (under
// Wine, a round trip to its mount manager each).
func open(ctx context.Context, h *host.Host, f file) (*safefs.File, string, outcome) {
	if h.CaseInsensitiveFS {
		if fh, err := safefs.Open(ctx, h.FS, f.target, safefs.Executable); err == nil {
			return fh, f.target, outcome{}
		}
	}
	loc, fi, err := rootpath.Resolve(h.FS, f.target, rootpath.Options{FoldCase: true})
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, rootpath.ErrNotDir):
		return nil, "", outcome{skip: skipMissing, err: err}
	case err != nil:
		return nil, "", outcome{skip: skipUnreadable, err: err}
	case !fi.Mode().IsRegular():
		return nil, "", outcome{skip: skipNotFile, err: fmt.Errorf("%s: %s", loc, fi.Mode().Type())}
	}
	fh, err := safefs.Open(ctx, h.FS, loc, safefs.Executable)
	switch {
	case errors.Is(err, safefs.ErrNotRegular):
		return nil, "", outcome{skip: skipNotFile, err: err}
	case err != nil:
		return nil, "", outcome{skip: skipUnreadable, err: err}
	}
	return fh, loc, outcome{}
}

// describe turns what a file says into observations.
func describe(f file, loc string, vi *VersionInfo, viErr error, sigs []Signature, sigErr error, verdict Verdict) []detect.Observation {
	base := path.Base(loc) // the file's name in its actual case
	o := detect.Observation{
		Kind:     detect.KindSigner,
		Status:   f.status,
		Name:     base,
		Path:     f.winPath,
		Location: loc,
	}
	var facts []string
	if vi != nil {
		o.Vendor, o.Display = vi.CompanyName, vi.ProductName
		o.Version = vi.ProductVersion
		if o.Version == "" {
			o.Version = vi.FixedProductVersion
		}
		for _, kv := range [][2]string{
			{"CompanyName", vi.CompanyName},
			{"ProductName", vi.ProductName},
			{"OriginalFilename", vi.OriginalFilename},
			{"ProductVersion", o.Version},
		} {
			if kv[1] != "" {
				facts = append(facts, fmt.Sprintf("%s %q", kv[0], kv[1]))
			}
		}
	}
	if viErr != nil {
		facts = append(facts, "version resource unreadable: "+viErr.Error())
	}
	withFacts := func(head string) string {
		if len(facts) == 0 {
			return head
		}
		return head + "; " + strings.Join(facts, ", ")
	}

	// One observation per distinct valid signer, the first one carrying
	// the version resource's facts.
	var out []detect.Observation
	seen := map[string]bool{}
	for _, s := range sigs {
		if !s.Valid() || seen[s.Subject] {
			continue
		}
		seen[s.Subject] = true
		so := o
		so.Signer = s.Subject
		kind := "signed"
		if s.Nested {
			kind = "signed (nested signature)"
		}
		head := fmt.Sprintf("%s %s by %q (%s, digest ok, %s)", base, kind, s.Name(), s.DigestAlgorithm, verdict)
		if len(out) == 0 {
			so.Detail = withFacts(head)
		} else {
			so.Detail = head
		}
		out = append(out, so)
	}
	if len(out) > 0 {
		return out
	}

	// No valid signature: say what there is, without a Signer, so a copied
	// or broken signature names nobody.
	var head string
	switch {
	case len(sigs) > 0:
		s := sigs[0]
		what := "is invalid"
		switch {
		case errors.Is(s.Err, ErrDigestMismatch):
			what = "does not match the file (digest mismatch: changed after signing, or copied from another file)"
		case errors.Is(s.Err, ErrTooLargeToHash):
			what = "was not checked (file too large to hash)"
		case s.Err != nil:
			what = "is invalid: " + s.Err.Error()
		}
		who := s.Name()
		if who == "" {
			who = "an unknown signer"
		} else {
			who = fmt.Sprintf("%q", who)
		}
		head = fmt.Sprintf("%s: signature by %s %s", base, who, what)
		if verdict.Checked {
			head += "; " + verdict.String()
		}
	case sigErr != nil:
		head = fmt.Sprintf("%s: malformed signature (%v)", base, sigErr)
	case vi != nil, viErr != nil:
		head = base + ": no embedded signature"
	default:
		head = base + ": no version resource, no embedded signature"
	}
	// A file with no valid signature (none, or a broken or copied one)
	// and no company in its version resource names no maker; said,
	// because a name match then needs more than a vendor's registry key to
	// count (a developer's build, a game, a worm may be called avp.exe;
	// the vendor's own programs all carry their company's version
	// information and a valid signature). A file whose signature table
	// could not be read, or that was too large to hash, is not known to.
	o.NoMaker = sigErr == nil && (vi == nil || vi.CompanyName == "") &&
		!slices.ContainsFunc(sigs, func(s Signature) bool { return errors.Is(s.Err, ErrTooLargeToHash) })
	o.Detail = withFacts(head)
	return []detect.Observation{o}
}

// skipTally counts the files not examined, by reason, keeping the first
// example of each for the message.
type skipTally struct {
	total    int
	badPaths int
	counts   [skipNotFile + 1]int
	first    [skipNotFile + 1]string
	errs     [skipNotFile + 1]error
}

func newSkipTally(total int) *skipTally { return &skipTally{total: total} }

func (t *skipTally) add(r skipReason, winPath string, err error) {
	if t.counts[r] == 0 {
		t.first[r], t.errs[r] = winPath, err
	}
	t.counts[r]++
}

// err summarises the skipped files in one error, or returns nil. It
// unwraps to the first error of each reason.
func (t *skipTally) err() error {
	var parts []string
	var errs []error
	n := t.badPaths
	if t.badPaths > 0 {
		parts = append(parts, fmt.Sprintf("%d with a path that cannot be looked up", t.badPaths))
	}
	// Missing files are not counted: a service or uninstall entry pointing
	// at a file that is gone is ordinary residue, and the source that saw
	// it reports it as such.
	for r := skipUnreadable; r <= skipNotFile; r++ {
		c := t.counts[r]
		if c == 0 {
			continue
		}
		n += c
		parts = append(parts, fmt.Sprintf("%d %s (%s)", c, r, t.first[r]))
		if t.errs[r] != nil {
			errs = append(errs, t.errs[r])
		}
	}
	if n == 0 {
		return nil
	}
	return &SkipError{Skipped: n, Total: t.total, msg: strings.Join(parts, ", "), errs: errs}
}

// SkipError is the enricher's error when some files could not be
// examined: missing (a dangling service image path), unreadable, not PE
// images. Everything else was examined.
type SkipError struct {
	Skipped, Total int
	msg            string
	errs           []error
}

func (e *SkipError) Error() string {
	return fmt.Sprintf("pe: %d of %d files not examined: %s", e.Skipped, e.Total, e.msg)
}

// Unwrap returns the first error of each kind, for errors.Is.
func (e *SkipError) Unwrap() []error { return e.errs }
