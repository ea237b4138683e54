package detect

import (
	"slices"

	"github.com/avscout/avscout/internal/host"
)

// Knowledge is what the catalog tells the sources to look for on one
// target OS: plain lists, so that sources stay free of the catalog and
// the catalog of them.
type Knowledge struct {
	OS          host.OS  // the target the lists are for
	Paths       []string // well-known files and folders, written as on the target
	ProgramDirs []string // folders (globs allowed) where products' programs live
	Executables []string // program names (globs allowed) that mark an install
	Drivers     []string // driver file names that mark an install
	Keys        []string // registry keys whose existence is evidence
	ProductKeys []string // registry keys holding a product's description
	// Definitions are registry values holding the date of a product's
	// last definitions update.
	Definitions []DefinitionsValue
}

// DefinitionsValue names a registry value holding a definitions date:
// the key (globs allowed), the value's name, and the format it is written
// in ("dd-MM-yyyy HH-mm-ss", "unix" or "filetime").
type DefinitionsValue struct {
	Key, Value, Format string
}

// Descriptor says what a source is and where it runs, so that which
// sources a scan runs is data in one list rather than checks inside each
// source.
type Descriptor struct {
	// Name is the source's name, as [Source.Name] returns it.
	Name string
	// OS lists the target systems the source reads; empty means every one.
	OS []host.OS
	// NeedsLiveHost marks a source that asks the running machine (its
	// processes, its Security Center): it is not run on a root directory.
	NeedsLiveHost bool
	// New builds the source for a scan, from what the catalog knows.
	New func(Knowledge) Source
}

// Fits reports whether the source reads a target running o.
func (d Descriptor) Fits(o host.OS) bool {
	return len(d.OS) == 0 || slices.Contains(d.OS, o)
}
