// Package catalog holds avscout's vendor knowledge as data — products,
// their fingerprints on each OS, vendor identities, and the policy that
// says which vendors are restricted — and the one pure function, [Match],
// that turns observations into findings.
//
// Adding a vendor or a product is an edit of catalog.yaml, then `go
// generate` (catalog_gen.go holds the same catalog as Go data, which
// start-up reads without decoding YAML), plus a fixture; no code names a
// vendor.
package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report/enum"
	"go.yaml.in/yaml/v3"
)

//go:generate go run -tags catgen ./internal/catgen

// Catalog is the whole of avscout's vendor knowledge.
type Catalog struct {
	// Version identifies the catalog in reports (a date, "2026.11.22").
	Version  string    `yaml:"version" json:"version"`
	Policy   Policy    `yaml:"policy" json:"policy"`
	Vendors  []Vendor  `yaml:"vendors" json:"vendors"`
	Products []Product `yaml:"products" json:"products"`
	// Obstacles are what stands in the way of removing products, which
	// products' and vendors' removal data name; Fallbacks the protection
	// each OS brings of its own once the last antivirus is gone (keyed
	// by OS). The remediation planner reads both.
	Obstacles []Obstacle          `yaml:"obstacles,omitempty" json:"obstacles,omitempty"`
	Fallbacks map[string]Fallback `yaml:"fallbacks,omitempty" json:"fallbacks,omitempty"`
	Sources   map[string]string   `yaml:"sources" json:"sources"` // citation key → reference

	vendorByID map[string]*Vendor
}

// Policy says which vendors' software a host must not run.
type Policy struct {
	ID    string `yaml:"id" json:"id"`
	Rules []Rule `yaml:"rules" json:"rules"`
}

// Rule restricts the products, and the technology, of some vendors.
type Rule struct {
	ID      string   `yaml:"id" json:"id"`
	Vendors []string `yaml:"vendors" json:"vendors"`
	Reason  string   `yaml:"reason" json:"reason"`
	// UpdatesEnded is the day (YYYY-MM-DD) from which the rule bars the
	// vendors' definitions and code updates, if it does: a product whose
	// definitions date is no later has stopped updating because of it.
	UpdatesEnded string   `yaml:"updates_ended,omitempty" json:"updates_ended,omitempty"`
	Sources      []string `yaml:"sources,omitempty" json:"sources,omitempty"`
}

// Vendor describes a software vendor: how its products identify it
// (publisher names, signers) and which of its components betray its
// technology inside a product sold under another brand.
type Vendor struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// Brands are the words a product shows when it presents itself as this
	// vendor's. A product carrying this vendor's technology whose name shows
	// none of them is white-labelled.
	Brands []string `yaml:"brands" json:"brands"`
	// Category of products found only through vendor-level evidence.
	Category string `yaml:"category" json:"category"`
	// Publishers are organisation names as package maintainers, rpm vendors
	// and uninstall entries record them; matched whole, case-insensitively.
	Publishers []string `yaml:"publishers,omitempty" json:"publishers,omitempty"`
	// EmailDomains identify maintainers by e-mail address.
	EmailDomains []string `yaml:"email_domains,omitempty" json:"email_domains,omitempty"`
	// Signers are code-signing subjects (Authenticode CN or O) and TeamIDs
	// are Apple developer team identifiers.
	Signers []string `yaml:"signers,omitempty" json:"signers,omitempty"`
	TeamIDs []string `yaml:"team_ids,omitempty" json:"team_ids,omitempty"`
	// ConfirmOnly makes the identity fields above only confirm findings of
	// this vendor's catalogued products, never create findings of their
	// own: for vendors whose publisher name is on much besides security
	// software ("Microsoft Corporation").
	ConfirmOnly bool `yaml:"confirm_only,omitempty" json:"confirm_only,omitempty"`
	// OwnPackages says the vendor builds the packages of its products
	// itself: a package named like one of them whose maintainer, vendor and
	// packager neither name the vendor nor show its brand (another
	// organisation, or none recorded) is someone else's look-alike or
	// rebuild, weak evidence that counts only beside a program of the
	// vendor's in its catalogued folders or other installed or running
	// evidence of the vendor. Unset for products that distributions
	// package under their own maintainers (ClamAV).
	OwnPackages bool `yaml:"own_packages,omitempty" json:"own_packages,omitempty"`
	// Technology lists per OS the components that are this vendor's
	// wherever they appear: drivers, engine executables, data folders.
	Technology map[string]Fingerprints `yaml:"technology,omitempty" json:"technology,omitempty"`
	// Removal holds, per OS, what removing any of this vendor's products
	// (or a build on its technology) involves; see [Removal].
	Removal map[string]Removal `yaml:"removal,omitempty" json:"removal,omitempty"`
	Sources []string           `yaml:"sources,omitempty" json:"sources,omitempty"`
}

// Product is one product a vendor ships.
type Product struct {
	ID       string `yaml:"id" json:"id"`
	Vendor   string `yaml:"vendor" json:"vendor"`
	Name     string `yaml:"name" json:"name"`
	Category string `yaml:"category" json:"category"`
	// WhiteLabel marks a product sold under another brand that is built on
	// a restricted vendor's technology; Technology names that vendor.
	WhiteLabel   bool                    `yaml:"white_label,omitempty" json:"white_label,omitempty"`
	Technology   string                  `yaml:"technology,omitempty" json:"technology,omitempty"`
	Fingerprints map[string]Fingerprints `yaml:"fingerprints" json:"fingerprints"` // keyed by OS
	// Removal holds, per OS, what removing this product involves beyond
	// its vendor's removal data; see [Removal].
	Removal map[string]Removal `yaml:"removal,omitempty" json:"removal,omitempty"`
	Sources []string           `yaml:"sources,omitempty" json:"sources,omitempty"`
}

// Fingerprints are patterns matched against observations on one OS. Each
// pattern is a path.Match glob, compared case-insensitively.
type Fingerprints struct {
	Packages  []string `yaml:"packages,omitempty" json:"packages,omitempty"`   // package or installer-receipt names
	Apps      []string `yaml:"apps,omitempty" json:"apps,omitempty"`           // uninstall DisplayName, bundle name or bundle id
	Services  []string `yaml:"services,omitempty" json:"services,omitempty"`   // systemd units, Windows services, launchd labels
	Processes []string `yaml:"processes,omitempty" json:"processes,omitempty"` // process or executable file names
	Drivers   []string `yaml:"drivers,omitempty" json:"drivers,omitempty"`     // kernel drivers, kexts, system extensions
	Paths     []string `yaml:"paths,omitempty" json:"paths,omitempty"`         // files or folders (matched with everything beneath)
	Keys      []string `yaml:"keys,omitempty" json:"keys,omitempty"`           // registry keys (matched with everything beneath)
	// ProgramDirs are folders (globs allowed) the product's programs and
	// drivers run from. An executable found beneath one, named like one of
	// the catalog's processes or drivers, shows the product installed even
	// where no package database or registry is read.
	ProgramDirs []string `yaml:"program_dirs,omitempty" json:"program_dirs,omitempty"`
	// Altitudes are minifilter altitudes Microsoft allocated to the vendor
	// (exact values or globs): a driver registering one is the vendor's
	// whatever its name.
	Altitudes []string `yaml:"altitudes,omitempty" json:"altitudes,omitempty"`
	// ProductKeys are registry keys (globs allowed) under which installed
	// products describe themselves with ProductName, ProductVersion and
	// ProductRoot values; the vendor-keys source reads them. They are
	// read, not matched: what they describe is matched like an app.
	ProductKeys []string `yaml:"product_keys,omitempty" json:"product_keys,omitempty"`
	// Definitions are registry values that hold the date of the product's
	// last anti-virus definitions update (Kaspersky's bases, Defender's
	// signatures). The vendor-keys source reads them and gives the date to
	// the catalogued key they lie under, so that a fleet can tell hosts
	// whose definitions stopped.
	Definitions []DefinitionsValue `yaml:"definitions,omitempty" json:"definitions,omitempty"`
}

// DefinitionsValue names one registry value holding a definitions date.
type DefinitionsValue struct {
	Key   string `yaml:"key" json:"key"`     // registry key, globs allowed
	Value string `yaml:"value" json:"value"` // the value's name
	// Format says how the date is written: one of [DefinitionsFormats].
	Format string `yaml:"format" json:"format"`
}

// DefinitionsFormats are the ways a definitions date is written that the
// vendor-keys source reads:
//   - "dd-MM-yyyy HH-mm-ss": text, UTC;
//   - "unix": a DWORD or QWORD of seconds since 1970;
//   - "filetime": an 8-byte little-endian REG_BINARY or a QWORD of
//     100-nanosecond intervals since 1601, as Windows FILETIME.
func DefinitionsFormats() []string {
	return []string{"dd-MM-yyyy HH-mm-ss", "unix", "filetime"}
}

// Default returns the catalog built into the binary: catalog.yaml, which
// `go generate` turned into Go data (catalog_gen.go) after validating it,
// so that start-up decodes no YAML. Each call returns a new copy.
func Default() (*Catalog, error) {
	c := builtin()
	c.indexVendors()
	return c, nil
}

// indexVendors fills the vendor index of a catalog whose validation
// passed (Parse, or the generator before it wrote catalog_gen.go).
func (c *Catalog) indexVendors() {
	c.vendorByID = make(map[string]*Vendor, len(c.Vendors))
	for i := range c.Vendors {
		c.vendorByID[c.Vendors[i].ID] = &c.Vendors[i]
	}
}

// Parse reads and validates a catalog in YAML (JSON is YAML too).
func Parse(r io.Reader) (*Catalog, error) {
	dec := yaml.NewDecoder(io.LimitReader(r, 16<<20))
	dec.KnownFields(true)
	var c Catalog
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("catalog is empty")
		}
		return nil, fmt.Errorf("decode catalog: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// WithPolicy returns a copy of c that applies p instead of its own policy.
func (c *Catalog) WithPolicy(p Policy) (*Catalog, error) {
	cp := *c
	cp.Policy = p
	if err := cp.validate(); err != nil {
		return nil, err
	}
	return &cp, nil
}

// Vendor returns the vendor with the given id.
func (c *Catalog) Vendor(id string) (*Vendor, bool) {
	v, ok := c.vendorByID[id]
	return v, ok
}

// validID reports whether id is lower-case letters, digits, dots and
// dashes, starting with a letter or digit.
func validID(id string) bool {
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || i > 0 && (c == '.' || c == '-')) {
			return false
		}
	}
	return id != ""
}

func (c *Catalog) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Version == "" {
		bad("catalog: version is empty")
	}
	c.vendorByID = make(map[string]*Vendor, len(c.Vendors))
	checkSources := func(what string, keys []string) {
		for _, k := range keys {
			if _, ok := c.Sources[k]; !ok {
				bad("%s: source %q is not in sources", what, k)
			}
		}
	}
	for i := range c.Vendors {
		v := &c.Vendors[i]
		what := fmt.Sprintf("vendor %q", v.ID)
		if !validID(v.ID) {
			bad("%s: id must be lower-case letters, digits, dots and dashes", what)
		}
		if _, dup := c.vendorByID[v.ID]; dup {
			bad("%s: duplicate id", what)
		}
		c.vendorByID[v.ID] = v
		if v.Name == "" {
			bad("%s: name is empty", what)
		}
		if len(v.Brands) == 0 {
			bad("%s: brands is empty", what)
		}
		if !slices.Contains(enum.Categories(), v.Category) {
			bad("%s: category %q is not one of %v", what, v.Category, enum.Categories())
		}
		for os, fp := range v.Technology {
			errs = append(errs, fp.validate(what+" technology", os)...)
		}
		checkSources(what, v.Sources)
	}
	errs = append(errs, c.validateRemediation()...)
	for i := range c.Vendors {
		errs = append(errs, c.validateRemoval(fmt.Sprintf("vendor %q", c.Vendors[i].ID), c.Vendors[i].Removal)...)
	}
	seen := map[string]bool{}
	for i := range c.Products {
		p := &c.Products[i]
		what := fmt.Sprintf("product %q", p.ID)
		if !validID(p.ID) {
			bad("%s: id must be lower-case letters, digits, dots and dashes", what)
		}
		if seen[p.ID] {
			bad("%s: duplicate id", what)
		}
		seen[p.ID] = true
		if _, ok := c.vendorByID[p.Vendor]; !ok {
			bad("%s: unknown vendor %q", what, p.Vendor)
		}
		if p.Name == "" {
			bad("%s: name is empty", what)
		}
		if !slices.Contains(enum.Categories(), p.Category) {
			bad("%s: category %q is not one of %v", what, p.Category, enum.Categories())
		}
		if p.WhiteLabel {
			if _, ok := c.vendorByID[p.Technology]; !ok {
				bad("%s: white_label needs technology naming a known vendor, not %q", what, p.Technology)
			}
		}
		if len(p.Fingerprints) == 0 {
			bad("%s: no fingerprints", what)
		}
		for os, fp := range p.Fingerprints {
			errs = append(errs, fp.validate(what, os)...)
		}
		checkSources(what, p.Sources)
		errs = append(errs, c.validateRemoval(what, p.Removal)...)
	}
	if c.Policy.ID == "" {
		bad("policy: id is empty")
	}
	for _, r := range c.Policy.Rules {
		if r.ID == "" || r.Reason == "" {
			bad("policy rule %q: id and reason are required", r.ID)
		}
		if len(r.Vendors) == 0 {
			bad("policy rule %q: no vendors", r.ID)
		}
		if r.UpdatesEnded != "" {
			if _, err := time.Parse(time.DateOnly, r.UpdatesEnded); err != nil {
				bad("policy rule %q: updates_ended %q is not a YYYY-MM-DD date", r.ID, r.UpdatesEnded)
			}
		}
		for _, v := range r.Vendors {
			if _, ok := c.vendorByID[v]; !ok {
				bad("policy rule %q: unknown vendor %q", r.ID, v)
			}
		}
		checkSources("policy rule "+r.ID, r.Sources)
	}
	return errors.Join(errs...)
}

func (fp Fingerprints) validate(what, os string) []error {
	var errs []error
	if !host.OS(os).Valid() {
		errs = append(errs, fmt.Errorf("%s: unknown OS %q (want one of %v)", what, os, host.OSes()))
	}
	for _, k := range fp.ProductKeys {
		if err := validKey(k); err != nil {
			errs = append(errs, fmt.Errorf("%s %s product_keys: %w", what, os, err))
		}
	}
	for _, k := range fp.Keys {
		if err := validKey(k); err != nil {
			errs = append(errs, fmt.Errorf("%s %s keys: %w", what, os, err))
		}
	}
	for _, d := range fp.ProgramDirs {
		if _, err := path.Match(normPath(d), ""); err != nil || strings.TrimSpace(d) == "" {
			errs = append(errs, fmt.Errorf("%s %s program_dirs: bad pattern %q", what, os, d))
		}
	}
	for _, a := range fp.Altitudes {
		if _, err := path.Match(a, ""); err != nil || strings.TrimSpace(a) == "" {
			errs = append(errs, fmt.Errorf("%s %s altitudes: bad pattern %q", what, os, a))
		}
	}
	for _, d := range fp.Definitions {
		if err := validKey(d.Key); err != nil {
			errs = append(errs, fmt.Errorf("%s %s definitions: %w", what, os, err))
		}
		if strings.TrimSpace(d.Value) == "" {
			errs = append(errs, fmt.Errorf("%s %s definitions %s: no value name", what, os, d.Key))
		}
		if !slices.Contains(DefinitionsFormats(), d.Format) {
			errs = append(errs, fmt.Errorf("%s %s definitions %s: format %q is not one of %q", what, os, d.Key, d.Format, DefinitionsFormats()))
		}
	}
	for k, list := range fp.byKind() {
		kind := fpKind(k)
		for _, p := range list {
			if strings.TrimSpace(p) == "" {
				errs = append(errs, fmt.Errorf("%s %s %s: empty pattern", what, os, kind))
				continue
			}
			if _, err := path.Match(normPattern(kind, p), ""); err != nil {
				errs = append(errs, fmt.Errorf("%s %s %s: bad pattern %q: %w", what, os, kind, p, err))
			}
		}
	}
	return errs
}

// validKey checks that a registry key pattern names a hive the sources
// read (HKLM or HKU) and is a valid glob.
func validKey(k string) error {
	n := normKey(k)
	hive, _, _ := strings.Cut(strings.TrimPrefix(n, "/"), "/")
	if hive != "hklm" && hive != "hku" {
		return fmt.Errorf("key %q: want one under HKLM or HKU", k)
	}
	if _, err := path.Match(n, ""); err != nil {
		return fmt.Errorf("key %q: %w", k, err)
	}
	return nil
}

// ParsePolicyOnly reads a document that holds only a policy (a "policy:"
// key and no vendors or products). ok is false when the document is a
// whole catalog instead.
func ParsePolicyOnly(r io.Reader) (p Policy, ok bool, err error) {
	var doc struct {
		Policy   *Policy     `yaml:"policy"`
		Vendors  []yaml.Node `yaml:"vendors"`
		Products []yaml.Node `yaml:"products"`
	}
	if err := yaml.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Policy{}, false, errors.New("catalog is empty")
		}
		return Policy{}, false, fmt.Errorf("decode catalog: %w", err)
	}
	if doc.Policy == nil || len(doc.Vendors) > 0 || len(doc.Products) > 0 {
		return Policy{}, false, nil
	}
	return *doc.Policy, true, nil
}

// RuleFor returns the first policy rule restricting any of the vendors.
func (c *Catalog) RuleFor(vendorIDs ...string) *Rule {
	for i := range c.Policy.Rules {
		r := &c.Policy.Rules[i]
		for _, id := range vendorIDs {
			if id != "" && slices.Contains(r.Vendors, id) {
				return r
			}
		}
	}
	return nil
}

// Restricts reports whether the policy restricts a catalogued product,
// through its vendor or the technology it is built on.
func (c *Catalog) Restricts(p Product) bool {
	return c.RuleFor(p.Vendor, p.Technology) != nil
}

// Keys returns every registry key the catalog names for targetOS —
// product keys and vendor technology, globs included — sorted and without
// duplicates, for the source that checks which of them exist.
func (c *Catalog) Keys(targetOS string) []string {
	return c.collect(targetOS, func(fp Fingerprints) []string { return fp.Keys })
}

// ProductKeys returns the registry keys (globs included) under which
// products describe themselves on targetOS, sorted and without duplicates.
func (c *Catalog) ProductKeys(targetOS string) []string {
	return c.collect(targetOS, func(fp Fingerprints) []string { return fp.ProductKeys })
}

// Definitions returns the registry values holding a definitions date on
// targetOS, sorted by key and value and without duplicates.
func (c *Catalog) Definitions(targetOS string) []DefinitionsValue {
	var out []DefinitionsValue
	for _, p := range c.Products {
		out = append(out, p.Fingerprints[targetOS].Definitions...)
	}
	for _, v := range c.Vendors {
		out = append(out, v.Technology[targetOS].Definitions...)
	}
	slices.SortFunc(out, func(a, b DefinitionsValue) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value), cmp.Compare(a.Format, b.Format))
	})
	return slices.Compact(out)
}

func (c *Catalog) collect(targetOS string, list func(Fingerprints) []string) []string {
	var out []string
	for _, p := range c.Products {
		out = append(out, list(p.Fingerprints[targetOS])...)
	}
	for _, v := range c.Vendors {
		out = append(out, list(v.Technology[targetOS])...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Paths returns every path the catalog names for targetOS — product
// folders and vendor technology — sorted and without duplicates, for the
// source that checks which of them exist.
func (c *Catalog) Paths(targetOS string) []string {
	return c.collect(targetOS, func(fp Fingerprints) []string { return fp.Paths })
}

// ProgramDirs returns the folders (globs included) products and vendor
// technology run their programs and drivers from on targetOS, sorted and
// without duplicates, for the source that looks for executables there.
func (c *Catalog) ProgramDirs(targetOS string) []string {
	return c.collect(targetOS, func(fp Fingerprints) []string { return fp.ProgramDirs })
}

// ExecutableNames returns the file-name patterns of the programs the
// catalog names for targetOS (its processes: "avp.exe", "klnagent"),
// sorted and without duplicates; like every fingerprint they are globs
// compared case-insensitively.
func (c *Catalog) ExecutableNames(targetOS string) []string {
	return c.collect(targetOS, func(fp Fingerprints) []string { return fp.Processes })
}

// DriverNames returns the driver name patterns the catalog names for
// targetOS, sorted and without duplicates: on Windows the service names
// of kernel drivers ("klif"), whose image is <name>.sys; on macOS the
// bundle identifiers of extensions.
func (c *Catalog) DriverNames(targetOS string) []string {
	return c.collect(targetOS, func(fp Fingerprints) []string { return fp.Drivers })
}
