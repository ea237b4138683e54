package catalog

import (
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
)

// fpKind names one list of a [Fingerprints]: which observations it is
// compared with.
type fpKind uint8

const (
	fpPackages  fpKind = iota // package and installer-receipt names
	fpApps                    // uninstall display names, bundle names and ids
	fpServices                // services, units, launchd labels
	fpProcesses               // program names: processes and executables
	fpDrivers                 // drivers, kexts, system extensions
	fpPaths                   // files and folders, with everything beneath
	fpKeys                    // registry keys, with everything beneath
	numFPKinds
)

var fpKindNames = [numFPKinds]string{"packages", "apps", "services", "processes", "drivers", "paths", "keys"}

func (k fpKind) String() string { return fpKindNames[k] }

// byKind returns the fingerprint lists that are matched, by kind.
func (fp Fingerprints) byKind() [numFPKinds][]string {
	return [numFPKinds][]string{fp.Packages, fp.Apps, fp.Services, fp.Processes, fp.Drivers, fp.Paths, fp.Keys}
}

// index finds which owners' fingerprints match a value: literal patterns
// through a map, globs by trying each. A package database of 100,000
// entries costs one map lookup per entry.
type index struct {
	literal [numFPKinds]map[string][]int // value → owners
	globs   [numFPKinds][]ownedGlob
}

type ownedGlob struct {
	pattern string
	owner   int
	// For a path or key pattern: how many '/' it holds, and the part
	// before its first wildcard, which a value must start with to match.
	slashes int
	literal string
}

func newOwnedGlob(pattern string, owner int) ownedGlob {
	lit := pattern
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		lit = pattern[:i]
	}
	return ownedGlob{pattern: pattern, owner: owner, slashes: strings.Count(pattern, "/"), literal: lit}
}

func (ix *index) add(owner int, fp Fingerprints) {
	for k, list := range fp.byKind() {
		kind := fpKind(k)
		for _, s := range list {
			s = normPattern(kind, s)
			if strings.ContainsAny(s, `*?[`) {
				ix.globs[kind] = append(ix.globs[kind], newOwnedGlob(s, owner))
				continue
			}
			if ix.literal[kind] == nil {
				ix.literal[kind] = map[string][]int{}
			}
			if !slices.Contains(ix.literal[kind][s], owner) {
				ix.literal[kind][s] = append(ix.literal[kind][s], owner)
			}
		}
	}
}

// lookup adds to owners those whose patterns of kind match one of values.
func (ix *index) lookup(owners []int, kind fpKind, values ...string) []int {
	lit, globs := ix.literal[kind], ix.globs[kind]
	for _, v := range values {
		if v == "" {
			continue
		}
		owners = appendNew(owners, lit[v]...)
		for _, g := range globs {
			if ok, _ := path.Match(g.pattern, v); ok {
				owners = appendNew(owners, g.owner)
			}
		}
	}
	return owners
}

// lookupBeneath matches a normalised path against path patterns that also
// cover everything beneath them: "/opt/kaspersky" matches
// "/opt/kaspersky/kesl/bin/kesl-control".
func (ix *index) lookupBeneath(owners []int, kind fpKind, v string) []int {
	if v == "" {
		return owners
	}
	lit := ix.literal[kind]
	for prefix := v; prefix != ""; {
		owners = appendNew(owners, lit[prefix]...)
		i := strings.LastIndexByte(prefix, '/')
		if i <= 0 {
			break
		}
		prefix = prefix[:i]
	}
	for _, g := range ix.globs[kind] {
		head, ok := leadingComponents(v, g.slashes)
		if !ok || !strings.HasPrefix(head, g.literal) {
			continue
		}
		if ok, _ := path.Match(g.pattern, head); ok {
			owners = appendNew(owners, g.owner)
		}
	}
	return owners
}

// leadingComponents is the start of v that holds as many '/' as a
// pattern with slashes of them, which path.Match can compare with it: v
// up to its slashes+1'th '/', or all of v (less a last '/') when it has
// exactly slashes of them. ok is false when v has fewer: the pattern
// names something deeper than v.
func leadingComponents(v string, slashes int) (head string, ok bool) {
	seen := 0
	for i := 0; i < len(v); i++ {
		if v[i] != '/' {
			continue
		}
		if seen == slashes {
			return v[:i], true
		}
		seen++
	}
	if seen < slashes {
		return "", false
	}
	return strings.TrimSuffix(v, "/"), true
}

func appendNew(owners []int, more ...int) []int {
	for _, o := range more {
		if !slices.Contains(owners, o) {
			owners = append(owners, o)
		}
	}
	return owners
}

// byName returns the owners whose name lists match an observation: the
// package, app, service, program or driver list that fits its kind. A
// signer observation describes a file, which is looked up as a program or
// driver by its name.
func (ix *index) byName(o *detect.Observation) []int {
	return ix.byLowerName(o, strings.ToLower(o.Name))
}

// byLowerName is byName with the observation's name already in lower case,
// for a caller that looks it up in more than one index.
func (ix *index) byLowerName(o *detect.Observation, name string) []int {
	switch o.Kind {
	case detect.KindPackage:
		return ix.lookup(nil, fpPackages, name)
	case detect.KindApp:
		return ix.lookup(nil, fpApps, strings.ToLower(o.Display), name)
	case detect.KindProcess, detect.KindExecutable:
		return ix.lookup(nil, fpProcesses, name, baseName(o.Path))
	case detect.KindService:
		return ix.lookup(nil, fpServices, name)
	case detect.KindDriver:
		return ix.lookup(nil, fpDrivers, normDriver(o.Name), normDriver(baseName(o.Path)))
	case detect.KindSigner:
		owners := ix.lookup(nil, fpProcesses, name, baseName(o.Path))
		return ix.lookup(owners, fpDrivers, normDriver(name))
	}
	return nil
}

// byLocation returns the owners whose folders (or, for a registry key,
// keys) hold what an observation points at.
func (ix *index) byLocation(o *detect.Observation) []int {
	if o.Kind == detect.KindKey {
		owners := ix.lookupBeneath(nil, fpKeys, normKey(o.Path))
		return ix.lookupBeneath(owners, fpKeys, normKey(o.Name))
	}
	return ix.lookupBeneath(nil, fpPaths, normPath(o.Path))
}
