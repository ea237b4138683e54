package catalog

import (
	"github.com/avscout/avscout/internal/detect"
)

// PackageFilter is [Matcher.Relevant] for the records of a package
// database, asked before the source builds their observations: for most
// records the answer is no, and it then costs no allocation. It
// remembers the last maintainer it looked up, since records in a row
// mostly share one; so it serves one goroutine (one source) at a time.
type PackageFilter struct {
	m          *Matcher
	maintainer string // the last maintainer looked up
	vendor     bool   // whether it names a vendor
	looked     bool   // maintainer and vendor are set
	// shapes[c] has bit min(n, 63) set when a package name the matcher
	// knows starts with byte c and is n bytes long: most names are none,
	// and this says so without a look-up. nil when a pattern is a glob.
	shapes *[256]uint64
}

// PackageFilter returns a filter of m's for one package database's source.
func (m *Matcher) PackageFilter() *PackageFilter {
	f := &PackageFilter{m: m}
	if len(m.products.globs[fpPackages])+len(m.tech.globs[fpPackages]) > 0 {
		return f
	}
	f.shapes = new([256]uint64)
	for _, lit := range []map[string][]int{m.products.literal[fpPackages], m.tech.literal[fpPackages]} {
		for name := range lit {
			if name != "" {
				f.shapes[name[0]] |= shapeBit(len(name))
			}
		}
	}
	return f
}

func shapeBit(n int) uint64 { return 1 << min(n, 63) }

// Fork returns a filter that answers as f does, for another goroutine: it
// shares f's read-only index, not its memory of the last maintainer.
func (f *PackageFilter) Fork() *PackageFilter { return &PackageFilter{m: f.m, shapes: f.shapes} }

// RelevantPackage reports what [Matcher.Relevant] reports of the
// observation of a package (kind package) named name and maintained by
// maintainer, both as recorded, whatever its other fields: for a package,
// only these two count.
func (f *PackageFilter) RelevantPackage(name []byte, maintainer string) bool {
	if !f.looked || maintainer != f.maintainer {
		// For a package, Relevant's identity is the maintainer's alone:
		// it has no packager or signer, and no altitude.
		f.maintainer, f.vendor, f.looked = maintainer, f.m.ids.organisation(maintainer) != nil, true
	}
	if f.vendor {
		return true
	}
	var buf [64]byte
	lower, ok := appendLowerASCII(buf[:0], name)
	if !ok {
		return f.m.Relevant(detect.Observation{Kind: detect.KindPackage, Name: string(name), Vendor: maintainer})
	}
	if f.shapes != nil && (len(lower) == 0 || f.shapes[lower[0]]&shapeBit(len(lower)) == 0) {
		return false // no name of this first byte and length: not in the indexes
	}
	// A package is looked up by its name (byLowerName reads no other
	// field of it); its location, without a path, matches nothing.
	o := detect.Observation{Kind: detect.KindPackage}
	s := string(lower)
	return len(f.m.products.byLowerName(&o, s)) > 0 || len(f.m.tech.byLowerName(&o, s)) > 0
}

// appendLowerASCII appends b in lower case to dst, as strings.ToLower
// would; ok is false, and dst unchanged, when b is not all ASCII.
func appendLowerASCII(dst, b []byte) (out []byte, ok bool) {
	n := len(dst)
	for _, c := range b {
		if c >= 0x80 {
			return dst[:n], false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}
