package catalog

import (
	"cmp"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/report/enum"
)

// How observations become findings, one file per step:
//
//   - index.go: which fingerprints an observation matches, by name or by
//     the folder or key it lies in;
//   - identity.go: which vendor a publisher, maintainer, signer or team ID
//     names, and what files say about who made them;
//   - evidence.go: what one observation shows, and which matches count —
//     a program known only by its name needs corroboration, and a file's
//     own signer or version information naming someone else drops it;
//   - grouping.go: which product each piece of evidence belongs to;
//   - state.go: state, white label, restriction and confidence of a
//     product, each with the reason recorded in its trace;
//   - normalise.go: how paths, keys and names are compared.

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
	// Trace is the decision trace: which evidence made the finding and why
	// it counted, and which rule set its state, white label, restriction
	// and confidence.
	Trace []string
}

// Judgement is what the catalog makes of a host's observations.
type Judgement struct {
	Findings []Finding
	// Dropped are the matches that did not count: contradicted by a file's
	// signer or version information, or a bare name nothing corroborates.
	Dropped []Dropped
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
	ids          identities
	altitudes    []ownedGlob // minifilter altitudes; owners index cat.Vendors
}

// Matcher compiles the catalog's fingerprints for targetOS.
func (c *Catalog) Matcher(targetOS string) *Matcher {
	m := &Matcher{
		cat:          c,
		productIndex: map[string]int{},
		products:     &index{},
		tech:         &index{},
		ids:          newIdentities(c),
	}
	for i := range c.Products {
		m.productIndex[c.Products[i].ID] = i
		m.products.add(i, c.Products[i].Fingerprints[targetOS])
	}
	for i := range c.Vendors {
		fp := c.Vendors[i].Technology[targetOS]
		m.tech.add(i, fp)
		for _, a := range fp.Altitudes {
			m.altitudes = append(m.altitudes, newOwnedGlob(strings.TrimSpace(a), i))
		}
	}
	return m
}

// altitudeOwner returns the vendor Microsoft allocated a minifilter
// altitude to, if the catalog knows it.
func (m *Matcher) altitudeOwner(alt string) *Vendor {
	alt = strings.TrimSpace(alt)
	for _, a := range m.altitudes {
		if ok, _ := path.Match(a.pattern, alt); ok {
			return &m.cat.Vendors[a.owner]
		}
	}
	return nil
}

// altitudeFacts says whose the minifilter altitudes a driver registers are.
func (m *Matcher) altitudeFacts(o *detect.Observation) []orgFact {
	if o.Altitude == "" {
		return nil
	}
	var out []orgFact
	for _, alt := range strings.Split(o.Altitude, ",") {
		if v := m.altitudeOwner(alt); v != nil {
			out = append(out, orgFact{what: "minifilter altitude " + strings.TrimSpace(alt), org: v.Name, vendor: v})
		}
	}
	return out
}

// Relevant reports whether an observation can contribute to a finding. The
// runner uses it to drop the bulk of a package database early.
func (m *Matcher) Relevant(o detect.Observation) bool {
	switch {
	case o.Kind == detect.KindApp && o.Path != "":
		return true // may host a white-labelled engine found elsewhere
	case o.Kind == detect.KindProcess && o.Path != "":
		return true // may run from a found product's folder
	case o.Kind == detect.KindSigner:
		// An enricher describes only files that kept observations point
		// at: what one says of its maker — or that it names none —
		// confirms or contradicts them, whatever the file is called.
		return true
	case m.ids.identity(&o) != nil, len(m.altitudeFacts(&o)) > 0:
		return true
	}
	// A signer observation is looked up as the file it describes: what a
	// file says about its maker confirms or contradicts a match of the
	// file by name or folder.
	name := strings.ToLower(o.Name)
	return len(m.products.byLowerName(&o, name)) > 0 || len(m.products.byLocation(&o)) > 0 ||
		len(m.tech.byLowerName(&o, name)) > 0 || len(m.tech.byLocation(&o)) > 0
}

// Match judges observations; see the package-level [Match].
func (m *Matcher) Match(obs []detect.Observation) []Finding {
	return m.Judge(obs).Findings
}

// Judge judges observations and says what it dropped and why.
func (m *Matcher) Judge(obs []detect.Observation) Judgement {
	var evs []evidence
	var unmatched []detect.Observation
	for _, o := range obs {
		if e, ok := m.classify(o); ok {
			evs = append(evs, e)
		} else {
			unmatched = append(unmatched, o)
		}
	}
	kept, dropped := m.screen(evs, obs)
	b := &grouping{m: m, groups: map[string]*group{}}
	b.assign(kept, unmatched)
	b.mergeEnginePieces()
	b.addActivity(unmatched)

	findings := make([]Finding, 0, len(b.groups))
	for _, id := range b.order {
		findings = append(findings, m.finding(b.groups[id]))
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
	return Judgement{Findings: findings, Dropped: dropped}
}

func stateRank(s string) int {
	switch s {
	case enum.StateActive:
		return 0
	case enum.StateInstalled:
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
