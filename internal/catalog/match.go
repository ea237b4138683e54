package catalog

import (
	"cmp"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
)

// State of a product on a host, as reports name it.
const (
	StateActive    = "active"
	StateInstalled = "installed"
	StateLeftover  = "leftover"
)

// Confidence levels of a finding.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
)

// Finding is one product found on a host, with all its evidence merged.
type Finding struct {
	ProductID  string
	VendorID   string
	Vendor     string // the vendor's display name
	Name       string
	Version    string
	Category   string
	State      string
	Restricted bool
	Rule       *Rule // the policy rule that restricts it, when Restricted
	WhiteLabel bool
	// Technology names the vendor whose technology a white-labelled product
	// carries; empty otherwise.
	Technology string
	Confidence string
	Evidence   []detect.Observation
}

// Match judges the observations made on a host running targetOS and
// returns the products they show, each once, in a stable order.
func Match(c *Catalog, targetOS string, obs []detect.Observation) []Finding {
	return c.Matcher(targetOS).Match(obs)
}

// Matcher is a catalog compiled for one target OS.
type Matcher struct {
	cat          *Catalog
	productIndex map[string]int // product id → index into cat.Products
	products     *index         // owners are indexes into cat.Products
	tech         *index         // owners are indexes into cat.Vendors
	// identity lookups, all lower-cased
	publishers map[string]*Vendor
	emails     []vendorString
	signers    map[string]*Vendor
	teamIDs    map[string]*Vendor
}

type vendorString struct {
	s string
	v *Vendor
}

// index finds which owners' fingerprints match a value: literal patterns
// through a map, globs by trying each. A package database of 100,000
// entries costs one map lookup per entry.
type index struct {
	literal map[string]map[string][]int // kind → value → owners
	globs   map[string][]ownedGlob      // kind → globs
}

type ownedGlob struct {
	pattern string
	owner   int
}

func newIndex() *index {
	return &index{literal: map[string]map[string][]int{}, globs: map[string][]ownedGlob{}}
}

func (ix *index) add(owner int, fp Fingerprints) {
	for kind, list := range fp.lists() {
		for _, s := range list {
			s = normPattern(kind, s)
			if strings.ContainsAny(s, `*?[`) {
				ix.globs[kind] = append(ix.globs[kind], ownedGlob{s, owner})
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

// lookup adds to owners those whose patterns of kind match a value.
func (ix *index) lookup(owners []int, kind string, values ...string) []int {
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
func (ix *index) lookupBeneath(owners []int, kind, v string) []int {
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
		n := strings.Count(g.pattern, "/")
		// the first n+1 components of v (a leading "/" makes an empty first)
		parts := strings.SplitAfterN(v, "/", n+2)
		if len(parts) < n+1 {
			continue
		}
		head := strings.TrimSuffix(strings.Join(parts[:n+1], ""), "/")
		if ok, _ := path.Match(g.pattern, head); ok {
			owners = appendNew(owners, g.owner)
		}
	}
	return owners
}

func appendNew(owners []int, more ...int) []int {
	for _, o := range more {
		if !slices.Contains(owners, o) {
			owners = append(owners, o)
		}
	}
	return owners
}

// matches returns the owners whose fingerprints match an observation.
func (ix *index) matches(o *detect.Observation) []int {
	name := strings.ToLower(o.Name)
	var owners []int
	switch o.Kind {
	case detect.KindPackage:
		// A package's Path is its own install folder when a source knows
		// it (a macOS receipt's install prefix).
		owners = ix.lookup(owners, "packages", name)
	case detect.KindApp:
		owners = ix.lookup(owners, "apps", strings.ToLower(o.Display), name)
	case detect.KindProcess:
		owners = ix.lookup(owners, "processes", name, baseName(o.Path))
	case detect.KindService:
		owners = ix.lookup(owners, "services", name)
	case detect.KindDriver:
		owners = ix.lookup(owners, "drivers", normDriver(o.Name), normDriver(baseName(o.Path)))
	case detect.KindPath, detect.KindSigner:
	case detect.KindKey:
		owners = ix.lookupBeneath(owners, "keys", normKey(o.Path))
		return ix.lookupBeneath(owners, "keys", normKey(o.Name))
	default:
		return nil
	}
	return ix.lookupBeneath(owners, "paths", normPath(o.Path))
}

// Matcher compiles the catalog's fingerprints for targetOS.
func (c *Catalog) Matcher(targetOS string) *Matcher {
	m := &Matcher{
		cat:          c,
		productIndex: map[string]int{},
		products:     newIndex(),
		tech:         newIndex(),
		publishers:   map[string]*Vendor{},
		signers:      map[string]*Vendor{},
		teamIDs:      map[string]*Vendor{},
	}
	for i := range c.Products {
		m.productIndex[c.Products[i].ID] = i
		m.products.add(i, c.Products[i].Fingerprints[targetOS])
	}
	for i := range c.Vendors {
		v := &c.Vendors[i]
		m.tech.add(i, v.Technology[targetOS])
		for _, p := range v.Publishers {
			m.publishers[normOrg(p)] = v
		}
		for _, d := range v.EmailDomains {
			m.emails = append(m.emails, vendorString{strings.ToLower(d), v})
		}
		for _, s := range v.Signers {
			m.signers[normOrg(s)] = v
		}
		for _, t := range v.TeamIDs {
			m.teamIDs[strings.ToLower(t)] = v
		}
	}
	return m
}

func normPattern(kind, s string) string {
	switch kind {
	case "paths":
		return normPath(s)
	case "keys":
		return normKey(s)
	case "drivers":
		return normDriver(s)
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// identity returns the vendor an observation's publisher, maintainer or
// signer fields name, if any.
func (m *Matcher) identity(o *detect.Observation) *Vendor {
	for _, s := range []string{o.Vendor, o.Packager} {
		if s == "" {
			continue
		}
		if v := m.publishers[normOrg(s)]; v != nil {
			return v
		}
		if domain := emailDomain(s); domain != "" {
			for _, e := range m.emails {
				if domain == e.s || strings.HasSuffix(domain, "."+e.s) {
					return e.v
				}
			}
		}
	}
	if o.Signer != "" {
		if v := m.teamIDs[strings.ToLower(strings.TrimSpace(o.Signer))]; v != nil {
			return v
		}
		for _, name := range signerNames(o.Signer) {
			if v := m.signers[normOrg(name)]; v != nil {
				return v
			}
		}
	}
	return nil
}

func (m *Matcher) productMatches(o *detect.Observation) []int {
	ids := m.products.matches(o)
	slices.Sort(ids) // catalog order, whatever the index order
	return ids
}

// technology returns the first vendor, in catalog order, whose technology
// an observation shows.
func (m *Matcher) technology(o *detect.Observation) *Vendor {
	owners := m.tech.matches(o)
	if len(owners) == 0 {
		return nil
	}
	return &m.cat.Vendors[slices.Min(owners)]
}

// Relevant reports whether an observation can contribute to a finding. The
// runner uses it to drop the bulk of a package database early.
func (m *Matcher) Relevant(o detect.Observation) bool {
	if o.Kind == detect.KindApp && o.Path != "" {
		return true // may host a white-labelled engine found elsewhere
	}
	return m.identity(&o) != nil || m.technology(&o) != nil || len(m.productMatches(&o)) > 0
}

// group collects the evidence of one product while matching.
type group struct {
	id        string
	product   *Product // nil for products found through vendor evidence only
	vendor    *Vendor  // nil for an unknown vendor (a white-label host app)
	vendorStr string   // vendor name when vendor is nil
	name      string
	category  string

	evidence     []detect.Observation
	specific     map[detect.Kind]bool // kinds of product-specific evidence
	identity     bool                 // the vendor's identity confirmed by a publisher or signer
	tech         *Vendor              // another vendor whose technology the product carries
	techBySigner bool
	// otherBrand: the vendor's own software presenting a name that shows
	// none of the vendor's brands.
	otherBrand bool
	maxStatus  detect.Status
}

func (g *group) add(o detect.Observation, specific bool) {
	g.evidence = append(g.evidence, o)
	if specific {
		g.specific[o.Kind] = true
	}
	g.maxStatus = max(g.maxStatus, o.Status)
}

// installRoots are the folders a product is installed in, as its uninstall
// entries and bundles record them: engine files found beneath belong to it.
func (g *group) installRoots() []string {
	var roots []string
	for _, o := range g.evidence {
		if o.Kind == detect.KindApp && o.Path != "" {
			if r := normPath(o.Path); strings.Count(r, "/") >= 2 {
				roots = append(roots, r)
			}
		}
	}
	return roots
}

// Match judges observations; see the package-level [Match].
func (m *Matcher) Match(obs []detect.Observation) []Finding {
	groups := map[string]*group{}
	var order []string // creation order, for stable tie-breaks
	get := func(id string, mk func() *group) *group {
		if g, ok := groups[id]; ok {
			return g
		}
		g := mk()
		g.id, g.specific = id, map[detect.Kind]bool{}
		groups[id] = g
		order = append(order, id)
		return g
	}
	productGroup := func(i int) *group {
		p := &m.cat.Products[i]
		return get(p.ID, func() *group {
			v, _ := m.cat.Vendor(p.Vendor)
			return &group{product: p, vendor: v, name: p.Name, category: p.Category}
		})
	}
	type pendingObs struct {
		o       detect.Observation
		vendor  *Vendor
		bySign  bool
		matches []int // ambiguous product matches, if any
	}
	var pending []pendingObs
	var hostApps []detect.Observation
	var ambiguous []pendingObs

	for _, o := range obs {
		idv := m.identity(&o)
		tv := m.technology(&o)
		prods := m.productMatches(&o)
		if idv != nil && idv.ConfirmOnly && len(prods) != 1 {
			idv = nil // such a publisher says nothing about unknown software
		}
		switch {
		case len(prods) == 1:
			g := productGroup(prods[0])
			g.add(o, true)
			m.noteVendorEvidence(g, idv, tv, &o)
		case len(prods) > 1:
			ambiguous = append(ambiguous, pendingObs{o: o, vendor: cmp.Or(idv, tv), matches: prods})
		case idv != nil && (o.Kind == detect.KindPackage || o.Kind == detect.KindApp):
			// Installed software of a known vendor that no catalog entry
			// names is still that vendor's product. (Its services, drivers
			// and processes join the product that holds them, below.)
			name := cmp.Or(o.Display, o.Name)
			id := idv.ID + "-" + slug(name)
			var g *group
			if i, ok := m.productIndex[id]; ok {
				g = productGroup(i) // the catalogued product after all
			} else {
				g = get(id, func() *group {
					return &group{vendor: idv, name: name, category: idv.Category}
				})
			}
			g.add(o, true)
			g.identity = true
			if o.Kind == detect.KindApp && !showsBrand(o.Display, idv) {
				g.otherBrand = true
			}
		case idv != nil || tv != nil:
			pending = append(pending, pendingObs{o: o, vendor: cmp.Or(idv, tv), bySign: idv != nil && o.Signer != ""})
		case o.Kind == detect.KindApp && o.Path != "":
			hostApps = append(hostApps, o)
		}
	}

	// An observation matching several products (avp.exe is in many of one
	// vendor's suites) belongs to those that other evidence found.
	for _, a := range ambiguous {
		var found []int
		for _, i := range a.matches {
			if _, ok := groups[m.cat.Products[i].ID]; ok {
				found = append(found, i)
			}
		}
		if len(found) > 0 {
			for _, i := range found {
				productGroup(i).add(a.o, false)
			}
			continue
		}
		if v := m.sameVendor(a.matches); v != nil {
			pending = append(pending, pendingObs{o: a.o, vendor: v})
			continue
		}
		for _, i := range a.matches {
			productGroup(i).add(a.o, false)
		}
	}

	// Vendor technology without a product of its own: beneath a product's
	// install folder it gives that product away as a white-label build;
	// elsewhere it is the vendor's components.
	for _, p := range pending {
		if g := m.hostGroup(groups, order, p.o); g != nil {
			g.add(p.o, false)
			if g.vendor != p.vendor {
				g.tech = p.vendor
				g.techBySigner = g.techBySigner || p.bySign
			} else if p.bySign {
				g.identity = true
			}
			continue
		}
		if app, ok := hostAppFor(hostApps, p.o); ok {
			name := cmp.Or(app.Display, app.Name)
			g := get("unknown-"+slug(name), func() *group {
				return &group{vendorStr: cmp.Or(app.Vendor, "Unknown"), name: name, category: p.vendor.Category}
			})
			if len(g.evidence) == 0 {
				g.add(app, true)
			}
			g.add(p.o, false)
			g.tech = p.vendor
			g.techBySigner = g.techBySigner || p.bySign
			continue
		}
		// Elsewhere it belongs with the vendor's product if one was found:
		// a KES host's klif driver lives in System32, not in KES's folder.
		if g := bestGroupOf(groups, order, p.vendor); g != nil {
			g.add(p.o, false)
			continue
		}
		v := p.vendor
		g := get(v.ID+"-components", func() *group {
			return &group{vendor: v, name: v.Name + " components", category: v.Category}
		})
		g.add(p.o, false)
	}

	findings := make([]Finding, 0, len(groups))
	for _, id := range order {
		findings = append(findings, m.finding(groups[id]))
	}
	slices.SortFunc(findings, func(a, b Finding) int {
		return cmp.Or(
			-boolCmp(a.Restricted, b.Restricted),
			stateRank(a.State)-stateRank(b.State),
			cmp.Compare(a.Vendor, b.Vendor),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.ProductID, b.ProductID),
		)
	})
	return findings
}

// noteVendorEvidence records what an observation matched to a product says
// about who made it.
func (m *Matcher) noteVendorEvidence(g *group, idv, tv *Vendor, o *detect.Observation) {
	if idv != nil {
		if idv == g.vendor {
			g.identity = true
		} else if !idv.ConfirmOnly {
			g.tech = idv
			g.techBySigner = g.techBySigner || o.Signer != ""
		}
	}
	if tv != nil && tv != g.vendor {
		g.tech = tv
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

// hostGroup finds the product whose install folder holds the observed file.
func (m *Matcher) hostGroup(groups map[string]*group, order []string, o detect.Observation) *group {
	p := normPath(o.Path)
	if p == "" {
		return nil
	}
	for _, id := range order {
		for _, root := range groups[id].installRoots() {
			if p == root || strings.HasPrefix(p, root+"/") {
				return groups[id]
			}
		}
	}
	return nil
}

func hostAppFor(apps []detect.Observation, o detect.Observation) (detect.Observation, bool) {
	p := normPath(o.Path)
	if p == "" {
		return detect.Observation{}, false
	}
	for _, a := range apps {
		root := normPath(a.Path)
		if strings.Count(root, "/") >= 2 && (p == root || strings.HasPrefix(p, root+"/")) {
			return a, true
		}
	}
	return detect.Observation{}, false
}

// bestGroupOf returns the vendor's most alive product found so far.
func bestGroupOf(groups map[string]*group, order []string, v *Vendor) *group {
	var best *group
	for _, id := range order {
		g := groups[id]
		if g.vendor != v || g.product == nil && strings.HasSuffix(g.id, "-components") {
			continue
		}
		if best == nil || g.maxStatus > best.maxStatus {
			best = g
		}
	}
	return best
}

func (m *Matcher) finding(g *group) Finding {
	f := Finding{
		ProductID: g.id,
		Name:      g.name,
		Category:  g.category,
		Evidence:  g.evidence,
	}
	if g.vendor != nil {
		f.VendorID, f.Vendor = g.vendor.ID, g.vendor.Name
	} else {
		f.VendorID, f.Vendor = "unknown", g.vendorStr
	}
	switch {
	case g.maxStatus >= detect.Running:
		f.State = StateActive
	case g.maxStatus >= detect.Installed:
		f.State = StateInstalled
	default:
		f.State = StateLeftover
	}
	// Version: from the most alive evidence that carries one.
	best := detect.Status(-1)
	for _, o := range g.evidence {
		if o.Version != "" && o.Status > best {
			f.Version, best = o.Version, o.Status
		}
	}
	techVendor := g.tech
	switch {
	case g.product != nil && g.product.WhiteLabel:
		techVendor, _ = m.cat.Vendor(g.product.Technology)
	case g.otherBrand:
		techVendor = g.vendor
	}
	if techVendor != nil && (techVendor != g.vendor || g.otherBrand) {
		f.WhiteLabel = true
		f.Technology = techVendor.Name
	}
	var ids []string
	if g.vendor != nil {
		ids = append(ids, g.vendor.ID)
	}
	if techVendor != nil {
		ids = append(ids, techVendor.ID)
	}
	if r := m.cat.RuleFor(ids...); r != nil {
		f.Restricted, f.Rule = true, r
	}
	f.Confidence = confidence(g)
	return f
}

func confidence(g *group) string {
	switch {
	case g.identity, g.techBySigner, len(g.specific) >= 2:
		return ConfidenceHigh
	case len(g.specific) == 1:
		return ConfidenceMedium
	}
	for _, o := range g.evidence {
		if o.Kind == detect.KindDriver || o.Status >= detect.Installed {
			return ConfidenceMedium
		}
	}
	return ConfidenceLow
}

func stateRank(s string) int {
	switch s {
	case StateActive:
		return 0
	case StateInstalled:
		return 1
	}
	return 2
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// showsBrand reports whether a displayed name carries one of the vendor's
// brands.
func showsBrand(display string, v *Vendor) bool {
	d := strings.ToLower(display)
	for _, b := range v.Brands {
		if strings.Contains(d, strings.ToLower(b)) {
			return true
		}
	}
	return false
}

// normPath lower-cases a target path and writes it with forward slashes and
// without a drive letter, so Windows and Unix paths compare alike.
func normPath(p string) string {
	p = strings.TrimSpace(p)
	if p == "" {
		return ""
	}
	p = strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
	if len(p) >= 2 && p[1] == ':' {
		p = p[2:]
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = path.Clean(p)
	return p
}

// normKey normalises a registry key path: lower case, forward slashes,
// short hive names ("HKEY_LOCAL_MACHINE\\SOFTWARE" → "/hklm/software").
func normKey(k string) string {
	k = strings.Trim(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(k), `\`, "/")), "/")
	if k == "" {
		return ""
	}
	hive, rest, _ := strings.Cut(k, "/")
	switch hive {
	case "hkey_local_machine":
		hive = "hklm"
	case "hkey_users":
		hive = "hku"
	case "hkey_current_user":
		hive = "hkcu"
	}
	if rest == "" {
		return "/" + hive
	}
	return "/" + hive + "/" + rest
}

func normDriver(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.TrimSuffix(s, ".sys")
}

func baseName(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}

// normOrg normalises an organisation name for comparison: the e-mail part
// of a maintainer ("Name <a@b>") dropped, case and spacing folded.
func normOrg(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[:i]
	}
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func emailDomain(s string) string {
	i := strings.IndexByte(s, '<')
	j := strings.LastIndexByte(s, '>')
	if i < 0 || j < i {
		return ""
	}
	_, domain, ok := strings.Cut(s[i+1:j], "@")
	if !ok {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(domain))
}

// signerNames returns the names in a signer subject: the CN and O values
// of a distinguished name, or the whole string when it is a plain name.
func signerNames(s string) []string {
	if !strings.Contains(s, "=") {
		return []string{s}
	}
	var names []string
	for _, m := range dnAttr.FindAllStringSubmatch(s, -1) {
		names = append(names, strings.Trim(strings.TrimSpace(m[2]), `"`))
	}
	return names
}

var dnAttr = regexp.MustCompile(`(?i)(?:^|,)\s*(CN|O)\s*=\s*("[^"]*"|[^,]*)`)

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}
