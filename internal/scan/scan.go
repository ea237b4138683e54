// Package scan performs one scan: it runs the sources that fit the target
// OS, judges their observations with the catalog, and assembles the
// report. The CLI's one-off scan and the service's scheduled scans both
// call [Run], so they cannot drift apart.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report"
)

// AgentName is the agent's name in reports.
const AgentName = "avscout"

// Options configure a scan.
type Options struct {
	Host    *host.Host
	Catalog *catalog.Catalog
	// Sources restricts the scan to the named sources; empty means all the
	// sources that fit the target OS.
	Sources []string
	// SourceTimeout bounds each source; zero means the runner's default.
	SourceTimeout time.Duration
	AgentVersion  string
	Tags          map[string]string
	Logger        *slog.Logger
	// Now returns the current time; nil means time.Now. Tests fix it.
	Now func() time.Time
	// Explain adds each finding's decision trace and the matches that were
	// dropped, and why, to the report.
	Explain bool
	// OpenHive opens the registry hives of an offline Windows root; nil
	// means [OpenHive]. Tests give their own.
	OpenHive HiveOpener
	// MemoryLimit, when positive, is the memory (in bytes, as the Go
	// runtime counts it against its GOMEMLIMIT) past which the scan is
	// stopped: Run then fails with an error wrapping [ErrMemoryLimit] and
	// logs why, rather than let the agent be killed.
	MemoryLimit int64
}

// Run scans opts.Host and returns the report. It fails only when the scan
// cannot run at all (an unknown source name) or was stopped at its memory
// limit; a failing source is recorded in the report's sources and makes
// the verdict incomplete unless a restricted product was found anyway
// (see [report.ComputeVerdict]).
func Run(ctx context.Context, opts Options) (*report.Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	// The matcher is built while the sources are chosen, on the CPU left
	// free: both only read the catalog. A live scan's runScan took 7.1 and
	// 7.7 ms built after, 6.8 and 7.3 ms meanwhile (medians of 100 and
	// 120 alternated runs on a busy 2-core VM).
	var matcher *catalog.Matcher
	built := meanwhile(func() { matcher = opts.Catalog.Matcher(string(opts.Host.OS)) })
	sources, err := Select(opts.Catalog, opts.Host.OS, opts.Host.Live, opts.Sources)
	built()
	if err != nil {
		return nil, err
	}
	// A Windows root's registry is read from the hive files on its disk.
	h, closeHives := offlineHost(ctx, opts.Host, opts.OpenHive)
	defer closeHives()
	// What the host is does not depend on what the sources find: it is
	// read meanwhile, rather than after the sources (a live scan's
	// runScan took 5.9 ms, not 6.1: medians of 100 alternated runs). It is
	// done before the hives close.
	var info host.Info
	described := meanwhile(func() { info = h.Describe() })
	defer described()
	sources = guardHives(h, sources)
	p := enrichersFor(opts.Catalog, opts.Host.OS, opts.Host.Live)
	keep := matcher.Relevant
	var filters []*packageFilter
	if p.wants != nil {
		keep = func(o detect.Observation) bool { return matcher.Relevant(o) || p.wants(o) }
	} else {
		// Keep is the matcher's alone: a package database's source can
		// apply it to the raw records, before it builds observations.
		sources, filters = filterPackages(sources, matcher)
	}
	runner := detect.Runner{
		Sources:   sources,
		Enrichers: p.enrichers,
		Timeout:   opts.SourceTimeout,
		Keep:      keep,
		Logger:    opts.Logger,
	}
	obs, results, err := runGuarded(ctx, &runner, h, opts.MemoryLimit)
	if err != nil {
		if opts.Logger != nil {
			opts.Logger.Error("scan stopped at its memory limit", "err", err)
		}
		return nil, err
	}
	for _, f := range filters {
		results[f.source].Items += int(f.dropped.Load()) // seen, though not emitted
	}
	judged := matcher.Judge(obs)
	described()

	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		ReportID:      report.NewID(),
		GeneratedAt:   start.UTC(),
		Agent: report.Agent{
			Name:           AgentName,
			Version:        opts.AgentVersion,
			CatalogVersion: opts.Catalog.Version,
		},
		Host: report.Host{
			ID:        info.ID,
			Hostname:  info.Hostname,
			OS:        string(info.OS),
			OSVersion: info.OSVersion,
			Arch:      info.Arch,
			Root:      info.Root,
		},
		Products: make([]report.Product, 0, len(judged.Findings)),
		Sources:  make([]report.Source, 0, len(results)),
		Tags:     opts.Tags,
	}
	for _, f := range judged.Findings {
		p := productOf(f)
		if opts.Explain {
			p.Explain = slices.Concat(f.Trace, definitionsTrace(p))
		}
		r.Products = append(r.Products, p)
	}
	if opts.Explain {
		for _, d := range judged.Dropped {
			r.Dropped = append(r.Dropped, report.Dropped{Evidence: evidenceOf(d.Evidence), Reason: d.Reason})
		}
	}
	for _, res := range results {
		s := report.Source{Name: res.Name, Status: res.Status, Items: res.Items, DurationMS: res.Duration.Milliseconds(),
			Warnings: res.Warnings}
		if res.Err != nil {
			s.Error = res.Err.Error()
		}
		r.Sources = append(r.Sources, s)
	}
	r.SetVerdict()
	r.Sort()
	r.DurationMS = now().Sub(start).Milliseconds()
	return r, nil
}

// meanwhile runs f on another goroutine, for a scan's serial work that
// needs no other to be done first, and returns a wait for it. The wait
// raises again, on its caller's goroutine, a panic in f, which a
// service's scan recovers (one on another goroutine would end the
// agent); only the first wait does.
func meanwhile(f func()) (wait func()) {
	var wg sync.WaitGroup
	var panicked any
	wg.Go(func() {
		defer func() { panicked = recover() }()
		f()
	})
	return func() {
		wg.Wait()
		if p := panicked; p != nil {
			panicked = nil
			panic(p)
		}
	}
}

func productOf(f catalog.Finding) report.Product {
	p := report.Product{
		ID:         f.ProductID,
		Vendor:     f.Vendor,
		Name:       f.Name,
		Version:    f.Version,
		Category:   f.Category,
		State:      f.State,
		Restricted: f.Restricted,
		WhiteLabel: f.WhiteLabel,
		Technology: f.Technology,
		Confidence: f.Confidence,
		Evidence:   make([]report.Evidence, 0, len(f.Evidence)),
	}
	if f.Rule != nil {
		p.Policy = &report.Policy{Rule: f.Rule.ID, Reason: f.Rule.Reason, UpdatesEnded: f.Rule.UpdatesEnded}
	}
	for _, o := range f.Evidence {
		p.Evidence = append(p.Evidence, evidenceOf(o))
		// Dates are YYYY-MM-DD, so the newest sorts last.
		p.DefinitionsDate = max(p.DefinitionsDate, o.Definitions)
	}
	return p
}

// definitionsTrace explains a product's definitions date: where it was
// read, and whether it stops before the day its policy bars updates from.
func definitionsTrace(p report.Product) []string {
	if p.DefinitionsDate == "" {
		return nil
	}
	var from string
	for _, e := range p.Evidence {
		if e.DefinitionsDate == p.DefinitionsDate {
			from = e.Source + " " + e.Location
			break
		}
	}
	line := "definitions dated " + p.DefinitionsDate + " (newest in the evidence, from " + from + ")"
	if p.Policy != nil && p.Policy.UpdatesEnded != "" && p.DefinitionsDate <= p.Policy.UpdatesEnded {
		line += "; no later than " + p.Policy.UpdatesEnded + ", the day rule " + p.Policy.Rule + " bars updates from: they stopped updating then"
	}
	return []string{line}
}

func evidenceOf(o detect.Observation) report.Evidence {
	return report.Evidence{
		Source:   o.Source,
		Kind:     string(o.Kind),
		Value:    evidenceValue(o),
		Location: o.Location,

		DefinitionsDate: o.Definitions,

		UninstallCommand:      o.UninstallCommand,
		QuietUninstallCommand: o.QuietUninstallCommand,
	}
}

// evidenceValue is what a reader sees of an observation.
func evidenceValue(o detect.Observation) string {
	if o.Detail != "" {
		return o.Detail
	}
	parts := []string{}
	for _, s := range []string{o.Display, o.Name, o.Version, o.Path, o.Signer} {
		if s != "" && !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// packageFilter asks the matcher, for a dpkg source, whether it may keep
// a package, and counts the packages it drops unbuilt: the source saw
// them, and its items in the report count them as before.
type packageFilter struct {
	m       *catalog.PackageFilter
	source  int // the source's index in the runner's, and so its result's
	dropped atomic.Int64
}

func (f *packageFilter) RelevantPackage(name []byte, maintainer string) bool {
	if f.m.RelevantPackage(name, maintainer) {
		return true
	}
	f.dropped.Add(1)
	return false
}

// Fork implements [dpkg.Forker].
func (f *packageFilter) Fork() dpkg.Filter { return &packageFilter{m: f.m.Fork(), source: f.source} }

// Join implements [dpkg.Forker].
func (f *packageFilter) Join(fork dpkg.Filter) {
	if fork, ok := fork.(*packageFilter); ok {
		f.dropped.Add(fork.dropped.Load())
	}
}

// filterPackages gives each dpkg source of sources a filter of the
// matcher's, which must be the runner's Keep, and returns the filters.
func filterPackages(sources []detect.Source, m *catalog.Matcher) ([]detect.Source, []*packageFilter) {
	var filters []*packageFilter
	for i, s := range sources {
		if d, ok := s.(dpkg.Source); ok && d.Filter == nil {
			f := &packageFilter{m: m.PackageFilter(), source: i}
			d.Filter = f
			sources[i] = d
			filters = append(filters, f)
		}
	}
	return sources, filters
}

// ErrUnknownSource is returned for a --sources name no source has.
var ErrUnknownSource = errors.New("unknown source")

// Select returns the sources for a target OS, restricted to names when
// given; live is false for a root directory (see [Available]).
func Select(cat *catalog.Catalog, target host.OS, live bool, names []string) ([]detect.Source, error) {
	all := Available(cat, target, live)
	if len(names) == 0 {
		return all, nil
	}
	var out []detect.Source
	for _, n := range names {
		i := slices.IndexFunc(all, func(s detect.Source) bool { return s.Name() == n })
		if i < 0 {
			var valid []string
			for _, s := range all {
				valid = append(valid, s.Name())
			}
			return nil, fmt.Errorf("%w %q for %s (valid: %s)", ErrUnknownSource, n, target, strings.Join(valid, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
