package catalog

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/avscout/avscout/internal/detect"
)

// evidence is one observation with what the catalog makes of it.
type evidence struct {
	o detect.Observation
	// products are the catalogued products whose fingerprints match it, in
	// catalog order.
	products []int
	// tech is the vendor whose technology it shows (a driver, an engine
	// executable, a vendor folder or key) when no product claims it alone.
	tech *Vendor
	// id is the vendor its publisher, maintainer or signer names.
	id *Vendor
	// located: it matched through the catalogued folder or key it lies in,
	// not (only) its name.
	located bool
	// byName: it matched only because a program is called like a vendor's
	// (a process or an executable file), which is weak until corroborated.
	byName bool
	// lookAlike: a package or uninstall entry matched by name, of a vendor
	// that builds its own packages, whose record does not show the vendor
	// as its maker; packager is the organisation it records instead (""
	// for none).
	// Weak until a program of the vendor's corroborates it.
	lookAlike bool
	packager  string
	// techByName: the technology matched by the observation's own name
	// (an app's bundle id in the vendor's namespace, say), not its folder.
	techByName bool
	// why says how it matched, and corroboration what confirmed a weak
	// match, for the decision trace.
	why, corroboration string
}

// vendor is the vendor the evidence is attributed to: the one it names,
// else its product's vendor, else the vendor whose technology it shows.
func (e *evidence) vendor(c *Catalog) *Vendor {
	if e.id != nil {
		return e.id
	}
	if len(e.products) > 0 {
		v, _ := c.Vendor(c.Products[e.products[0]].Vendor)
		return v
	}
	return e.tech
}

// maker is the vendor expected to have made the file or thing observed,
// whose signer or version information corroborates it: a white-label
// product's technology vendor, else the vendor it is attributed to.
func (e *evidence) maker(c *Catalog) *Vendor {
	if len(e.products) > 0 {
		if p := &c.Products[e.products[0]]; p.WhiteLabel {
			v, _ := c.Vendor(p.Technology)
			return v
		}
	}
	return e.vendor(c)
}

// classify works out what one observation shows. ok is false when it shows
// nothing the catalog knows.
func (m *Matcher) classify(o detect.Observation) (evidence, bool) {
	e := evidence{o: o, id: m.ids.identity(&o)}
	if o.Kind == detect.KindSigner {
		// A signer observation describes a file; it is evidence only when it
		// names a vendor, and then as the vendor's technology.
		if e.id == nil || e.id.ConfirmOnly {
			return e, false
		}
		e.why = fmt.Sprintf("file %s signed or described by %s", o.Path, e.id.Name)
		return e, true
	}
	byName := m.products.byName(&o)
	byLoc := m.products.byLocation(&o)
	e.products = append(byName, byLoc...)
	e.products = slices.Compact(sortedCopy(e.products))
	techName := m.tech.byName(&o)
	techLoc := m.tech.byLocation(&o)
	e.located = len(byLoc) > 0 || len(techLoc) > 0
	if owners := append(techName, techLoc...); len(owners) > 0 {
		e.tech = &m.cat.Vendors[slices.Min(owners)]
		e.techByName = len(techName) > 0
	}
	if e.tech == nil && len(e.products) == 0 {
		// A driver at a minifilter altitude allocated to a vendor is the
		// vendor's, whatever it is called.
		if fs := m.altitudeFacts(&o); len(fs) > 0 && !fs[0].vendor.ConfirmOnly {
			e.tech = fs[0].vendor
			e.why = fmt.Sprintf("driver %q registers %s, allocated to %s", o.Name, fs[0].what, fs[0].org)
			return e, true
		}
	}
	if e.id != nil && e.id.ConfirmOnly && len(e.products) != 1 {
		e.id = nil // such a publisher says nothing about unknown software
	}
	if e.id == nil && len(e.products) == 0 && e.tech == nil {
		return e, false
	}
	// A program known only by its name is weak: a game may call its
	// executable avp.exe. So is a service known only by its name, whose
	// program (or, when the program is unknown, unit file) lies in no
	// catalogued folder: anyone may call a unit kesl.service.
	program := o.Kind == detect.KindProcess || o.Kind == detect.KindExecutable
	e.byName = (program || o.Kind == detect.KindService) && e.id == nil && !e.located
	if (o.Kind == detect.KindPackage || o.Kind == detect.KindApp && o.Vendor != "") && e.id == nil && !e.located {
		// A package or uninstall entry of a vendor that builds its own,
		// whose record names another organisation (a remover, a plug-in,
		// a rebuild) or, for a package, none (plain rpmbuild writes no
		// Vendor): a look-alike named like the product. One whose maker
		// shows the vendor's brand under a form the catalog does not list
		// ("Kaspersky Lab Ltd.") is taken as the vendor's.
		if v := e.vendor(m.cat); v != nil && v.OwnPackages && !showsBrand(o.Vendor+" "+o.Packager, v) {
			e.byName, e.lookAlike, e.packager = true, true, cmp.Or(o.Vendor, o.Packager)
		}
	}
	if program && e.id == nil && e.located {
		e.corroboration = "it lies in a catalogued folder of " + e.maker(m.cat).Name
	}
	switch {
	case len(e.products) > 0 && len(byName) > 0:
		e.why = fmt.Sprintf("%s %q matches %s", o.Kind, nameOf(o), m.productList(e.products))
	case len(e.products) > 0:
		e.why = fmt.Sprintf("%s %s lies in a folder or key of %s", o.Kind, o.Path, m.productList(e.products))
	case e.id != nil:
		e.why = fmt.Sprintf("%s %q is %s's (%s)", o.Kind, nameOf(o), e.id.Name, m.identityField(&o))
	default:
		e.why = fmt.Sprintf("%s %q is %s technology", o.Kind, nameOf(o), e.tech.Name)
	}
	return e, true
}

func sortedCopy(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func nameOf(o detect.Observation) string {
	switch {
	case o.Display != "" && o.Kind == detect.KindApp:
		return o.Display
	case o.Name != "":
		return o.Name
	}
	return o.Path
}

func (m *Matcher) productList(ids []int) string {
	if len(ids) == 1 {
		return m.cat.Products[ids[0]].Name
	}
	return fmt.Sprintf("%d products (%s, …)", len(ids), m.cat.Products[ids[0]].Name)
}

// identityField names the field that identified an observation's vendor.
func (m *Matcher) identityField(o *detect.Observation) string {
	switch {
	case m.ids.organisation(o.Vendor) != nil:
		return "publisher " + o.Vendor
	case m.ids.organisation(o.Packager) != nil:
		return "packager " + o.Packager
	}
	return "signer " + o.Signer
}

// Dropped is an observation that matched the catalog but was not counted,
// and why: a name contradicted by the file's own signer or version
// information, or a name nothing else on the host corroborates.
type Dropped struct {
	Evidence detect.Observation
	Reason   string
}

// screen keeps the evidence that counts. A program known only by its name
// counts when its file's version information or signer names the vendor,
// when it runs from the vendor's folder, or when the host holds
// independent evidence of the vendor that is installed or running (a
// package, an uninstall entry, a service, a driver, a signed file) or a
// vendor registry key; residue corroborates nothing. Version information
// or a signer naming another organisation contradicts any match on a file
// and drops it.
func (m *Matcher) screen(evs []evidence, all []detect.Observation) (kept []evidence, dropped []Dropped) {
	facts := map[string][]orgFact{} // normalised file path → what it says
	nameless := map[string]bool{}   // normalised file path → it names no maker
	for i := range all {
		o := &all[i]
		if o.Kind == detect.KindSigner && o.Path != "" {
			p := normPath(o.Path)
			facts[p] = append(facts[p], m.ids.factsOf(o)...)
			if o.NoMaker {
				nameless[p] = true
			}
		}
	}
	hostApps := appPublishers(all)

	var pending []int
	for i := range evs {
		e := &evs[i]
		v := e.maker(m.cat)
		if e.o.Kind == detect.KindSigner {
			kept = append(kept, *e)
			continue
		}
		fs := append(m.ids.factsOf(&e.o), m.altitudeFacts(&e.o)...)
		fs = append(fs, facts[normPath(e.o.Path)]...)
		if why, ok := names(fs, v, e.vendor(m.cat)); ok {
			if e.byName {
				e.byName, e.corroboration = false, why
			}
			kept = append(kept, *e)
			continue
		}
		if why, contra := m.contradicts(fs, v, normPath(e.o.Path), hostApps); contra {
			dropped = append(dropped, Dropped{e.o, why})
			continue
		}
		if !e.byName {
			kept = append(kept, *e)
			continue
		}
		pending = append(pending, i)
	}

	// What lies in a contradicted bundle or file goes with it: the folder
	// of a Mac app signed by another team is no vendor folder either.
	kept, dropped = dropBeneath(kept, dropped)

	// Independent evidence of each vendor: what is not a program name and
	// shows the vendor's software there now — installed or running — or is
	// one of its registry keys, which say nothing either way. Residue (a
	// removed package, a unit or service whose program is gone, a stale
	// registration, a folder) corroborates nothing: it would make a
	// leftover product active through a stranger's program.
	// A look-alike package is corroborated too by a program of the
	// vendor's in its catalogued folders, whatever its state: the package
	// that installed it may be the one in question, and a look-alike
	// brings no such program. A folder or log alone does not: it may be
	// left from a product removed long before.
	// A vendor registry key corroborates a name only when the file
	// behind it was not read or names a maker (see detect.Observation's
	// NoMaker): a key may be residue, and a program that says nothing of
	// its maker — a developer's build, an old game, a worm — is no
	// vendor's build. A product key of the vendor's whose ProductRoot
	// holds the file corroborates it whatever the file says.
	independent, keys, programs := map[*Vendor]string{}, map[*Vendor]string{}, map[*Vendor]string{}
	for _, e := range kept {
		if e.byName {
			continue
		}
		by := fmt.Sprintf("%s %s (%s)", e.o.Kind, nameOf(e.o), e.o.Source)
		program := e.o.Kind == detect.KindExecutable || e.o.Kind == detect.KindProcess ||
			e.o.Kind == detect.KindService || e.o.Kind == detect.KindDriver
		for _, v := range []*Vendor{e.vendor(m.cat), e.maker(m.cat)} {
			if v == nil {
				continue
			}
			if e.located && program && programs[v] == "" {
				programs[v] = by
			}
			switch {
			case e.o.Kind == detect.KindKey:
				if keys[v] == "" {
					keys[v] = by
				}
			case independent[v] == "" && e.o.Status >= detect.Installed:
				independent[v] = by
			}
		}
	}
	var roots rootsByVendor
	if len(pending) > 0 {
		roots = m.productRoots(all)
	}
	for _, i := range pending {
		e := evs[i]
		v := e.maker(m.cat)
		file := normPath(e.o.Path)
		by := independent[v]
		if by == "" {
			by = roots.holding(v, file)
		}
		if by == "" && !nameless[file] {
			by = keys[v]
		}
		if by == "" && e.lookAlike {
			by = programs[v]
		}
		if by != "" {
			e.corroboration = fmt.Sprintf("the host holds other %s evidence: %s", v.Name, by)
			kept = append(kept, e)
			continue
		}
		why := fmt.Sprintf("only the name %q says %s, and nothing else on the host corroborates it", nameOf(e.o), v.Name)
		switch {
		case keys[v] != "" && nameless[file]:
			why = fmt.Sprintf("only the name %q says %s: its file names no maker (no signature, no company in a version resource), and %s's registry key alone may be residue",
				nameOf(e.o), v.Name, v.Name)
		case e.lookAlike && e.o.Kind == detect.KindApp:
			why = fmt.Sprintf("%q is published by %q, not %s, which builds its own installers, and no program or other evidence of %s's on the host corroborates it",
				nameOf(e.o), e.packager, v.Name, v.Name)
		case e.lookAlike && e.packager != "":
			why = fmt.Sprintf("package %q is recorded as %q's, not %s's, which builds its own packages, and no program or other evidence of %s's on the host corroborates it",
				nameOf(e.o), e.packager, v.Name, v.Name)
		case e.lookAlike:
			why = fmt.Sprintf("package %q records no maintainer or vendor, though %s builds its own packages, and no program or other evidence of %s's on the host corroborates it",
				nameOf(e.o), v.Name, v.Name)
		}
		dropped = append(dropped, Dropped{e.o, why})
	}
	return kept, dropped
}

// rootsByVendor are the folders a vendor's own registry names as an
// installed product's root.
type rootsByVendor map[*Vendor][]productRoot

// productRoot is a product key's ProductRoot, normalised, and the key.
type productRoot struct{ root, key string }

// productRoots collects, from the product descriptions under a vendor's
// registry keys (a product key's ProductRoot), the folders the vendor
// says a product of its is installed in. A description may outlive its
// product, but one whose folder holds a running or present program of
// the vendor's name is not residue: the folder is there, and a removed
// product's folder is what uninstalling takes away first.
func (m *Matcher) productRoots(all []detect.Observation) rootsByVendor {
	roots := rootsByVendor{}
	for i := range all {
		o := &all[i]
		if o.Kind != detect.KindApp || o.Location == "" {
			continue
		}
		root, ok := installRoot(o.Path)
		if !ok {
			continue
		}
		for _, owner := range m.tech.byLocation(&detect.Observation{Kind: detect.KindKey, Path: o.Location}) {
			v := &m.cat.Vendors[owner]
			roots[v] = append(roots[v], productRoot{root, o.Location})
		}
	}
	return roots
}

// holding says which of v's product keys names a folder that holds the
// file (a normalised path), "" for none.
func (r rootsByVendor) holding(v *Vendor, file string) string {
	for _, pr := range r[v] {
		if within(file, pr.root) {
			return fmt.Sprintf("key %s (%s's registry names its folder as an installed product's)", pr.key, v.Name)
		}
	}
	return ""
}

// names reports whether one of a file's facts names the vendor (or the
// vendor the product is attributed to).
func names(fs []orgFact, vendors ...*Vendor) (string, bool) {
	for _, f := range fs {
		if f.vendor != nil && slices.Contains(vendors, f.vendor) {
			return fmt.Sprintf("its %s names %s (%q)", f.what, f.vendor.Name, f.org), true
		}
	}
	return "", false
}

// contradicts reports whether a file's facts name an organisation other
// than v. The brand a white-labelled build shows — the publisher of the
// application whose folder holds the file — is not a contradiction.
func (m *Matcher) contradicts(fs []orgFact, v *Vendor, file string, hostApps []appFolder) (string, bool) {
	if !v.hasIdentity() {
		return "", false
	}
	for _, f := range fs {
		if f.vendor == v || f.org == "" {
			continue
		}
		if f.vendor == nil && brandOfFolder(hostApps, file, f.org) {
			continue
		}
		return fmt.Sprintf("its %s names %q, not %s", f.what, f.org, v.Name), true
	}
	return "", false
}

// appFolder is an installed application's folder and publisher.
type appFolder struct {
	root, publisher string
}

func appPublishers(all []detect.Observation) []appFolder {
	var out []appFolder
	for _, o := range all {
		if o.Kind != detect.KindApp || o.Vendor == "" {
			continue
		}
		if r, ok := installRoot(o.Path); ok {
			out = append(out, appFolder{r, normOrg(o.Vendor)})
		}
	}
	return out
}

func brandOfFolder(apps []appFolder, file, org string) bool {
	for _, a := range apps {
		if a.publisher == normOrg(org) && within(file, a.root) {
			return true
		}
	}
	return false
}

// dropBeneath drops the kept files and folders that lie in what was
// dropped as contradicted.
func dropBeneath(kept []evidence, dropped []Dropped) ([]evidence, []Dropped) {
	var roots []string
	for _, d := range dropped {
		if r, ok := installRoot(d.Evidence.Path); ok {
			roots = append(roots, r)
		}
	}
	if len(roots) == 0 {
		return kept, dropped
	}
	out := kept[:0]
	for _, e := range kept {
		p := normPath(e.o.Path)
		i := slices.IndexFunc(roots, func(r string) bool { return within(p, r) })
		if i >= 0 && (e.o.Kind == detect.KindPath || e.o.Kind == detect.KindExecutable || e.o.Kind == detect.KindProcess) {
			dropped = append(dropped, Dropped{e.o, "it lies in " + roots[i] + ", whose own signer or version information names another company"})
			continue
		}
		out = append(out, e)
	}
	return out, dropped
}
