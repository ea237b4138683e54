package catalog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/report/enum"
)

// groupKind says how a group of evidence came to be a product.
type groupKind uint8

const (
	// catalogued: a product the catalog lists.
	catalogued groupKind = iota
	// vendorSoftware: a known vendor's software no catalog entry names,
	// named from its own package, bundle or uninstall entry.
	vendorSoftware
	// hosted: another brand's product found to carry a vendor's technology
	// (a white-label build), named after that brand.
	hosted
	// components: a vendor's pieces no product claims.
	components
)

// group collects the evidence of one product while matching.
type group struct {
	kind      groupKind
	id        string
	product   *Product // for catalogued groups
	vendor    *Vendor  // nil for another brand's product of an unknown vendor
	vendorStr string   // vendor name when vendor is nil
	name      string
	category  string

	evidence []evidence
	specific map[detect.Kind]bool // kinds of product-specific evidence
	// identity: a publisher or signer confirmed the vendor.
	identity     bool
	tech         *Vendor // another vendor whose technology the product carries
	techBySigner bool
	techWhy      string
	// otherBrand: the vendor's own software presenting a name that shows
	// none of the vendor's brands.
	otherBrand bool
	maxStatus  detect.Status
	trace      []string
}

func (g *group) add(e evidence, specific bool, how string) {
	g.evidence = append(g.evidence, e)
	if specific {
		g.specific[e.o.Kind] = true
	}
	g.maxStatus = max(g.maxStatus, e.o.Status)
	line := e.why
	if e.corroboration != "" {
		line += "; counted because " + e.corroboration
	}
	if how != "" {
		line += "; " + how
	}
	g.trace = append(g.trace, fmt.Sprintf("evidence: %s (%s, %s)", line, e.o.Source, e.o.Status))
}

// builtOn reports whether the group's product carries v's technology: v's
// own product or a white-label build of it.
func (g *group) builtOn(v *Vendor) bool {
	return g.kind != components && (g.vendor == v || g.tech == v)
}

// installRoots are the folders a product is installed in, as its uninstall
// entries and bundles record them: engine files found beneath belong to it.
func (g *group) installRoots() []string {
	var roots []string
	for _, e := range g.evidence {
		if e.o.Kind != detect.KindApp {
			continue
		}
		if r, ok := installRoot(e.o.Path); ok {
			roots = append(roots, r)
		}
	}
	return roots
}

// grouping assigns evidence to products.
type grouping struct {
	m      *Matcher
	groups map[string]*group
	order  []string // creation order, for stable tie-breaks
}

func (b *grouping) get(id string, mk func() *group) *group {
	if g, ok := b.groups[id]; ok {
		return g
	}
	g := mk()
	g.id, g.specific = id, map[detect.Kind]bool{}
	b.groups[id] = g
	b.order = append(b.order, id)
	return g
}

func (b *grouping) product(i int) *group {
	p := &b.m.cat.Products[i]
	return b.get(p.ID, func() *group {
		v, _ := b.m.cat.Vendor(p.Vendor)
		return &group{kind: catalogued, product: p, vendor: v, name: p.Name, category: p.Category}
	})
}

// vendorSoftware returns the group of a known vendor's uncatalogued
// software called name — or the catalogued product whose id that makes.
func (b *grouping) vendorSoftware(v *Vendor, name string) *group {
	id := v.ID + "-" + slug(name)
	if i, ok := b.m.productIndex[id]; ok {
		return b.product(i)
	}
	return b.get(id, func() *group {
		return &group{kind: vendorSoftware, vendor: v, name: name, category: v.Category}
	})
}

// hostedBy returns the group of another brand's product, known by an
// installed application or only by the name its files show.
func (b *grouping) hostedBy(name, vendorName string, v *Vendor) *group {
	return b.get("unknown-"+slug(name), func() *group {
		return &group{kind: hosted, vendorStr: cmp.Or(vendorName, "Unknown"), name: name, category: v.Category}
	})
}

// assign builds the groups: first what catalogued products and vendors'
// own software claim, then the vendor technology nothing claims by name.
func (b *grouping) assign(kept []evidence, unmatched []detect.Observation) {
	var pending, ambiguous []evidence
	for _, e := range kept {
		switch {
		case len(e.products) == 1:
			g := b.product(e.products[0])
			g.add(e, true, "")
			b.noteVendor(g, e)
		case len(e.products) > 1:
			ambiguous = append(ambiguous, e)
		case e.id != nil && (e.o.Kind == detect.KindPackage || e.o.Kind == detect.KindApp),
			e.id == nil && e.o.Kind == detect.KindApp && e.tech != nil && (e.techByName || showsBrand(e.o.Display, e.tech)):
			// Installed software of a known vendor that no catalog entry
			// names is still that vendor's product, and so is a bundle in
			// its reverse-DNS namespace. (Its services, drivers and
			// processes join the product that holds them, below.)
			v := cmp.Or(e.id, e.tech)
			name := cmp.Or(e.o.Display, e.o.Name)
			g := b.vendorSoftware(v, name)
			g.add(e, true, "")
			g.identity = true
			if e.o.Kind == detect.KindApp && !showsBrand(e.o.Display, v) {
				g.otherBrand = true
			}
		default:
			pending = append(pending, e)
		}
	}

	// An observation matching several products (avp.exe is in many of one
	// vendor's suites) belongs to those that other evidence found.
	for _, e := range ambiguous {
		var found []int
		for _, i := range e.products {
			if _, ok := b.groups[b.m.cat.Products[i].ID]; ok {
				found = append(found, i)
			}
		}
		if len(found) > 0 {
			for _, i := range found {
				b.product(i).add(e, false, "shared by several products; joined the one found")
			}
			continue
		}
		if v := b.m.sameVendor(e.products); v != nil {
			e.products, e.tech = nil, v
			pending = append(pending, e)
			continue
		}
		for _, i := range e.products {
			b.product(i).add(e, false, "")
		}
	}

	// Vendor technology without a product of its own. Inside a product's
	// install folder it belongs to that product (and gives away a
	// white-label build); under another brand's name it is that brand's
	// white-label product.
	hostApps := installedApps(unmatched)
	var rest []evidence
	for _, e := range pending {
		v := e.vendor(b.m.cat)
		bySign := b.m.signedBy(&e.o, v)
		if g := b.holder(e.o); g != nil {
			b.join(g, e, v, bySign, "in the install folder of "+g.name)
			continue
		}
		if app, ok := hostAppFor(hostApps, e.o); ok {
			b.joinHost(app, e, v, bySign, "in the install folder of "+cmp.Or(app.Display, app.Name))
			continue
		}
		if brand := rebrandedAs(e); brand != "" {
			if app, ok := appNamed(hostApps, brand); ok {
				b.joinHost(app, e, v, bySign, "its files name the product "+brand)
			} else {
				g := b.hostedBy(brand, "", v)
				b.join(g, e, v, bySign, fmt.Sprintf("%s technology presented as %q", v.Name, brand))
			}
			continue
		}
		rest = append(rest, e)
	}

	// Elsewhere it belongs with the one product on the host built on that
	// technology: a KES host's klif driver lives in System32, not in KES's
	// folder. Residue of a removal never joins an installed product.
	for _, e := range rest {
		v := e.vendor(b.m.cat)
		joins := func(g *group) bool { return e.o.Status != detect.Residual || g.maxStatus < detect.Installed }
		if g, why := b.onlyProductOn(v); g != nil && joins(g) {
			b.join(g, e, v, false, why)
			continue
		}
		// A vendor folder that holds the folders of products found, such
		// as Program Files (x86)\Kaspersky Lab above KES and Endpoint
		// Agent, is their common parent, not a product of its own.
		if held := slices.DeleteFunc(b.productsBeneath(e.o.Path, v), func(g *group) bool { return !joins(g) }); len(held) > 0 {
			for _, g := range held {
				b.join(g, e, v, false, "the folder holds "+g.name)
			}
			continue
		}
		g := b.get(v.ID+"-components", func() *group {
			return &group{kind: components, vendor: v, name: v.Name + " components", category: v.Category}
		})
		how := "no product on the host claims it"
		if e.o.Status == detect.Residual {
			how = "residue of a removal, kept apart from installed products"
		}
		g.add(e, false, how)
	}
}

// addActivity adds to each product the processes that run from its
// install folder, which no fingerprint names: a running program of an
// uncatalogued product makes it active.
func (b *grouping) addActivity(unmatched []detect.Observation) {
	for _, o := range unmatched {
		if o.Kind != detect.KindProcess || o.Path == "" {
			continue
		}
		if g := b.holder(o); g != nil && g.kind != components {
			e := evidence{o: o, why: fmt.Sprintf("process %q runs from the install folder of %s", nameOf(o), g.name)}
			g.add(e, false, "")
		}
	}
}

// mergeEnginePieces folds a catalogued white-label product that was found
// only through its vendor-technology pieces (a KAV SDK key, a bases
// folder), with no application of its own, into the one other product of
// the same brand on the host: ZoneAlarm with the Kaspersky engine is one
// product, not ZoneAlarm plus an engine.
func (b *grouping) mergeEnginePieces() {
	for _, id := range slices.Clone(b.order) {
		g := b.groups[id]
		if g.kind != catalogued || !g.product.WhiteLabel || slices.ContainsFunc(g.evidence, func(e evidence) bool { return e.o.Kind == detect.KindApp }) {
			continue
		}
		var into *group
		for _, oid := range b.order {
			o := b.groups[oid]
			if o == g || o.vendor != g.vendor || o.kind == components || o.kind == catalogued && o.product.WhiteLabel {
				continue
			}
			if into != nil {
				into = nil // several: which one carries the engine is unknown
				break
			}
			into = o
		}
		if into == nil {
			continue
		}
		tech, _ := b.m.cat.Vendor(g.product.Technology)
		for _, e := range g.evidence {
			b.join(into, e, tech, false, "an engine piece of "+g.name+", which is "+into.name+"'s")
		}
		delete(b.groups, id)
		b.order = slices.DeleteFunc(b.order, func(s string) bool { return s == id })
	}
}

// join adds vendor evidence to a group; a vendor other than the group's
// makes it carry that vendor's technology.
func (b *grouping) join(g *group, e evidence, v *Vendor, bySign bool, how string) {
	g.add(e, false, how)
	switch {
	case g.vendor != v:
		g.tech = v
		g.techBySigner = g.techBySigner || bySign
		if g.techWhy == "" {
			g.techWhy = e.why
		}
	case bySign:
		g.identity = true
	}
}

// joinHost adds vendor technology to the product of an installed
// application that no catalog entry names.
func (b *grouping) joinHost(app detect.Observation, e evidence, v *Vendor, bySign bool, how string) {
	name := cmp.Or(app.Display, app.Name)
	g := b.hostedBy(name, app.Vendor, v)
	if len(g.evidence) == 0 {
		g.add(evidence{o: app, why: fmt.Sprintf("application %q is installed", name)}, true, "")
	}
	b.join(g, e, v, bySign, how)
}

// holder returns the product whose install folder holds the observed file.
func (b *grouping) holder(o detect.Observation) *group {
	p := normPath(o.Path)
	if p == "" {
		return nil
	}
	for _, id := range b.order {
		for _, root := range b.groups[id].installRoots() {
			if within(p, root) {
				return b.groups[id]
			}
		}
	}
	return nil
}

// productsBeneath returns the products found on the host, built on v's
// technology, with evidence inside the folder dir.
func (b *grouping) productsBeneath(dir string, v *Vendor) []*group {
	d := normPath(dir)
	if d == "" {
		return nil
	}
	var out []*group
	for _, id := range b.order {
		g := b.groups[id]
		if !g.builtOn(v) {
			continue
		}
		for _, e := range g.evidence {
			if p := normPath(e.o.Path); p != d && within(p, d) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// onlyProductOn returns the one product found on the host that is built on
// v's technology; among several, the one engine product (antivirus, suite,
// EDR, scan engine) if there is exactly one, else the one antivirus or
// suite among them: Endpoint Agent (EDR) beside KES (antivirus) runs no
// file-system filter of its own, so the klif driver is KES's.
func (b *grouping) onlyProductOn(v *Vendor) (*group, string) {
	var all, engines, protection []*group
	for _, id := range b.order {
		g := b.groups[id]
		if !g.builtOn(v) {
			continue
		}
		all = append(all, g)
		if slices.Contains(engineCategories, g.category) {
			engines = append(engines, g)
		}
		if slices.Contains(protectionCategories, g.category) {
			protection = append(protection, g)
		}
	}
	switch {
	case len(all) == 1:
		return all[0], fmt.Sprintf("the only product on %s technology on the host", v.Name)
	case len(engines) == 1:
		return engines[0], fmt.Sprintf("the only %s product on the host that carries an engine (%s)", v.Name, engines[0].category)
	case len(protection) == 1:
		return protection[0], fmt.Sprintf("the only %s antivirus or suite on the host (%s)", v.Name, protection[0].category)
	}
	return nil, ""
}

// engineCategories are the categories of products that run an engine and
// its drivers; a management agent or a VPN does not. protectionCategories
// are those among them that protect the file system with the drivers.
var (
	engineCategories     = []string{enum.CategoryAntivirus, enum.CategorySecuritySuite, enum.CategoryEDR, enum.CategoryScanEngine}
	protectionCategories = []string{enum.CategoryAntivirus, enum.CategorySecuritySuite}
)

// noteVendor records what evidence matched to a product says about who
// made it.
func (b *grouping) noteVendor(g *group, e evidence) {
	if e.id != nil {
		if e.id == g.vendor {
			g.identity = true
		} else if !e.id.ConfirmOnly {
			g.tech = e.id
			g.techBySigner = g.techBySigner || b.m.signedBy(&e.o, e.id)
			g.techWhy = e.why
		}
	}
	if e.tech != nil && e.tech != g.vendor {
		g.tech = e.tech
		g.techWhy = e.why
	}
}

func (m *Matcher) sameVendor(prods []int) *Vendor {
	var v *Vendor
	for _, i := range prods {
		pv, _ := m.cat.Vendor(m.cat.Products[i].Vendor)
		if v != nil && pv != v {
			return nil
		}
		v = pv
	}
	return v
}

// installedApps are the applications with an install folder that the
// catalog does not know: vendor technology found inside shows a
// white-label build.
func installedApps(all []detect.Observation) []detect.Observation {
	var out []detect.Observation
	for _, o := range all {
		if o.Kind != detect.KindApp {
			continue
		}
		if _, ok := installRoot(o.Path); ok {
			out = append(out, o)
		}
	}
	return out
}

func hostAppFor(apps []detect.Observation, o detect.Observation) (detect.Observation, bool) {
	p := normPath(o.Path)
	for _, a := range apps {
		if within(p, normPath(a.Path)) {
			return a, true
		}
	}
	return detect.Observation{}, false
}

func appNamed(apps []detect.Observation, name string) (detect.Observation, bool) {
	for _, a := range apps {
		if strings.EqualFold(a.Display, name) {
			return a, true
		}
	}
	return detect.Observation{}, false
}

// rebrandedAs returns the brand a vendor's component presents when it is
// the vendor's by its signer or publisher (e.id) but neither its name, nor
// its folder, nor its product name shows the vendor: a system extension
// signed by the vendor's team under another identifier, a driver whose
// version information names another product.
func rebrandedAs(e evidence) string {
	if e.id == nil || e.techByName || e.located {
		return ""
	}
	switch e.o.Kind {
	case detect.KindDriver, detect.KindService, detect.KindSigner, detect.KindExecutable, detect.KindProcess:
	default:
		return ""
	}
	if brand := strings.TrimSpace(e.o.Display); brand != "" && !showsBrand(brand, e.id) {
		return brand
	}
	return ""
}
