package scan

import (
	"context"
	"fmt"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/installdirs"
	"github.com/avscout/avscout/internal/detect/pe"
	"github.com/avscout/avscout/internal/detect/sources"
	"github.com/avscout/avscout/internal/host"
)

// knowledge returns what the catalog tells the sources to look for on a
// target OS.
func knowledge(cat *catalog.Catalog, target host.OS) detect.Knowledge {
	os := string(target)
	return detect.Knowledge{
		OS:          target,
		Paths:       cat.Paths(os),
		ProgramDirs: cat.ProgramDirs(os),
		Executables: cat.ExecutableNames(os),
		Drivers:     cat.DriverNames(os),
		Keys:        cat.Keys(os),
		ProductKeys: cat.ProductKeys(os),
		Definitions: definitionsValues(cat.Definitions(os)),
	}
}

// definitionsValues turns the catalog's definitions values into the
// sources' kind.
func definitionsValues(list []catalog.DefinitionsValue) []detect.DefinitionsValue {
	out := make([]detect.DefinitionsValue, len(list))
	for i, d := range list {
		out[i] = detect.DefinitionsValue{Key: d.Key, Value: d.Value, Format: d.Format}
	}
	return out
}

// Available returns the sources that fit a target OS, in report order, as
// [sources.For] lists them. On a root directory (live false) a source that
// needs the running machine is not run: it is reported unavailable.
func Available(cat *catalog.Catalog, target host.OS, live bool) []detect.Source {
	k := knowledge(cat, target)
	var out []detect.Source
	for _, d := range sources.For(target) {
		if d.NeedsLiveHost && !live {
			out = append(out, notLive{d.Name})
			continue
		}
		out = append(out, d.New(k))
	}
	return out
}

// notLive stands for a source that needs the running machine in a scan of
// a root directory.
type notLive struct{ name string }

func (s notLive) Name() string { return s.name }

func (s notLive) Collect(context.Context, *host.Host, func(detect.Observation)) error {
	return fmt.Errorf("%s: %w: %w", s.name, detect.ErrUnavailable, host.ErrNotLive)
}

// plan is what a scan of a target runs after its sources: the enrichers
// that look closer at what they saw, and the observations those need.
type plan struct {
	enrichers []detect.Enricher
	// wants keeps observations an enricher needs even when the catalog
	// does not know them: a white-labelled build hides behind names no
	// catalog lists, and only its signature gives it away.
	wants func(detect.Observation) bool
}

// enrichersFor returns the enrichers that fit a target OS; a Windows root
// (not live) also has its install folders looked in, since it has no
// processes to say which engine runs there.
func enrichersFor(cat *catalog.Catalog, target host.OS, live bool) plan {
	if target != host.Windows {
		return plan{}
	}
	if live {
		return plan{enrichers: []detect.Enricher{pe.New()}, wants: pe.Wants}
	}
	return plan{enrichers: []detect.Enricher{pe.New(), installdirs.New(cat.ExecutableNames(string(target)))}, wants: pe.Wants}
}
