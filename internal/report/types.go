// Package report defines the document avscout produces for one scan of one
// host, its JSON Schema, and the renderers that print it (json, table, jamf).
//
// The report is a contract: collectors, auditors' tooling and tests outside
// this repository read it, so its JSON form (schema_version 1) may grow new
// fields but never rename or remove one. Keeping the type, the schema and the
// renderers together lets the tests here check every renderer's output
// against the schema.
//
// This package only shapes and prints data. It must not decide anything
// about vendors (that is the catalog's job) nor read the host; and its output
// must be deterministic, so that golden files and fleet diffs stay stable.
package report

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/avscout/avscout/internal/report/enum"
)

// SchemaVersion is the version of the report document this package writes.
// It changes only when a field is renamed or removed.
const SchemaVersion = 1

// The words of the contract live in the leaf package enum, so that the
// catalog and the detection runner, below the report, use the same ones;
// they are repeated here for the report's readers. See [enum] for what each
// means.

// States of a product on a host.
const (
	StateActive    = enum.StateActive
	StateInstalled = enum.StateInstalled
	StateLeftover  = enum.StateLeftover
)

// Confidence levels of a product finding.
const (
	ConfidenceHigh   = enum.ConfidenceHigh
	ConfidenceMedium = enum.ConfidenceMedium
	ConfidenceLow    = enum.ConfidenceLow
)

// Statuses of a detection source.
const (
	StatusOK          = enum.StatusOK
	StatusError       = enum.StatusError
	StatusUnavailable = enum.StatusUnavailable
	StatusTimeout     = enum.StatusTimeout
)

// Verdicts of a report: what a compliance check concludes from one scan.
const (
	VerdictCompliant    = enum.VerdictCompliant
	VerdictNonCompliant = enum.VerdictNonCompliant
	VerdictIncomplete   = enum.VerdictIncomplete
)

// Categories of products, as the schema lists them.
const (
	CategoryAntivirus       = enum.CategoryAntivirus
	CategoryEDR             = enum.CategoryEDR
	CategoryManagementAgent = enum.CategoryManagementAgent
	CategoryVPN             = enum.CategoryVPN
	CategoryPasswordManager = enum.CategoryPasswordManager
	CategoryParentalControl = enum.CategoryParentalControl
	CategorySecuritySuite   = enum.CategorySecuritySuite
	CategoryScanEngine      = enum.CategoryScanEngine
	CategoryOther           = enum.CategoryOther
)

// Protects reports whether a product of category protects the host when
// it is active: an antivirus, an EDR or a security suite.
func Protects(category string) bool {
	switch category {
	case CategoryAntivirus, CategoryEDR, CategorySecuritySuite:
		return true
	}
	return false
}

// Report is the result of one scan of one host.
//
// Its JSON form always writes products and sources as arrays (never null)
// and generated_at as RFC 3339 UTC with second precision.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	ReportID      string    `json:"report_id"` // a UUID, new for every scan; see [NewID]
	GeneratedAt   time.Time `json:"generated_at"`
	DurationMS    int64     `json:"duration_ms"`
	Agent         Agent     `json:"agent"`
	Host          Host      `json:"host"`
	// Verdict is VerdictCompliant, VerdictNonCompliant or
	// VerdictIncomplete; see [ComputeVerdict]. Reports of agents older
	// than the field lack it: [VerdictOf] derives it for them.
	Verdict string `json:"verdict,omitempty"`
	// Compliant is true exactly when Verdict is VerdictCompliant. (Before
	// the verdict it was false only when a restricted product was active
	// or installed; an incomplete scan is now not compliant either.)
	Compliant bool              `json:"compliant"`
	Products  []Product         `json:"products"`
	Sources   []Source          `json:"sources"`
	Tags      map[string]string `json:"tags,omitempty"` // fleet tags set by the administrator
	// Dropped lists, with scan --explain, the matches that did not count.
	Dropped []Dropped `json:"dropped,omitempty"`
}

// Agent identifies the software that wrote the report.
type Agent struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	CatalogVersion string `json:"catalog_version"`
}

// Host describes the machine (or mounted image) scanned.
type Host struct {
	ID        string `json:"id"` // stable machine id
	Hostname  string `json:"hostname"`
	OS        string `json:"os"` // linux, windows or darwin
	OSVersion string `json:"os_version"`
	Arch      string `json:"arch"`
	Root      string `json:"root"` // "/" for the live machine
}

// Product is one product found on the host, reported once with all its
// evidence merged.
type Product struct {
	ID         string  `json:"id"` // catalog id
	Vendor     string  `json:"vendor"`
	Name       string  `json:"name"`
	Version    string  `json:"version"` // empty when unknown
	Category   string  `json:"category"`
	State      string  `json:"state"` // StateActive, StateInstalled or StateLeftover
	Restricted bool    `json:"restricted"`
	Policy     *Policy `json:"policy,omitempty"` // the rule that restricts it
	// WhiteLabel is true when the evidence shows another vendor's
	// technology while the product presents its own brand.
	WhiteLabel bool `json:"white_label"`
	// Technology names the vendor whose technology a white-label product
	// carries.
	Technology string `json:"technology,omitempty"`
	Confidence string `json:"confidence"` // ConfidenceHigh, ConfidenceMedium or ConfidenceLow
	// DefinitionsDate is the newest definitions date in the evidence
	// (YYYY-MM-DD): when the product last updated its anti-virus bases or
	// signatures. Empty when no evidence records one.
	DefinitionsDate string     `json:"definitions_date,omitempty"`
	Evidence        []Evidence `json:"evidence"`
	// Explain is the decision trace (scan --explain only): which evidence
	// made the finding and why it counted, and which rule set its state,
	// white label, restriction and confidence.
	Explain []string `json:"explain,omitempty"`
}

// Dropped is evidence that matched the catalog but was not counted, and
// why (scan --explain only): a file's own signer or version information
// naming another company, or a name nothing else on the host corroborates.
type Dropped struct {
	Evidence Evidence `json:"evidence"`
	Reason   string   `json:"reason"`
}

// Policy is the policy rule that restricts a product, and why.
type Policy struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// UpdatesEnded is the day (YYYY-MM-DD) from which the rule bars the
	// vendor's definitions updates, if it does.
	UpdatesEnded string `json:"updates_ended,omitempty"`
}

// Evidence is one observation that supports a product finding.
type Evidence struct {
	Source   string `json:"source"`   // the detection source, e.g. "dpkg"
	Kind     string `json:"kind"`     // what was observed, e.g. "package"
	Value    string `json:"value"`    // e.g. "kesl 12.1.0.2968"
	Location string `json:"location"` // where, e.g. "var/lib/dpkg/status"
	// DefinitionsDate is the date (YYYY-MM-DD) of the last anti-virus
	// definitions update this evidence records, if it records one.
	DefinitionsDate string `json:"definitions_date,omitempty"`
	// UninstallCommand and QuietUninstallCommand are the uninstall
	// entry's UninstallString and QuietUninstallString, when the
	// evidence is an uninstall entry that has them: kept apart from
	// Value, which mixes in text the publisher chose.
	UninstallCommand      string `json:"uninstall_command,omitempty"`
	QuietUninstallCommand string `json:"quiet_uninstall_command,omitempty"`
}

// Source says how one detection source fared during the scan.
type Source struct {
	Name       string `json:"name"`
	Status     string `json:"status"` // StatusOK, StatusError, StatusUnavailable or StatusTimeout
	Items      int    `json:"items"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error"` // empty when none
	// Warnings name the items (a bundle, a registry key, a file) the
	// source could not read although it saw the rest: they do not make
	// the scan incomplete. At most about twenty, then a count.
	Warnings []string `json:"warnings,omitempty"`
}

// wireReport is Report as written: generated_at formatted, slices non-nil.
// Its fields mirror Report's, in the same order.
type wireReport struct {
	SchemaVersion int               `json:"schema_version"`
	ReportID      string            `json:"report_id"`
	GeneratedAt   string            `json:"generated_at"`
	DurationMS    int64             `json:"duration_ms"`
	Agent         Agent             `json:"agent"`
	Host          Host              `json:"host"`
	Verdict       string            `json:"verdict,omitempty"`
	Compliant     bool              `json:"compliant"`
	Products      []Product         `json:"products"`
	Sources       []Source          `json:"sources"`
	Tags          map[string]string `json:"tags,omitempty"`
	Dropped       []Dropped         `json:"dropped,omitempty"`
}

// MarshalJSON writes the report with generated_at in RFC 3339 UTC at
// second precision and with products, sources and evidence as arrays even
// when empty.
func (r Report) MarshalJSON() ([]byte, error) {
	products := r.Products
	if products == nil {
		products = []Product{}
	}
	if slices.ContainsFunc(products, func(p Product) bool { return p.Evidence == nil }) {
		products = slices.Clone(products)
		for i := range products {
			if products[i].Evidence == nil {
				products[i].Evidence = []Evidence{}
			}
		}
	}
	sources := r.Sources
	if sources == nil {
		sources = []Source{}
	}
	return json.Marshal(wireReport{
		SchemaVersion: r.SchemaVersion,
		ReportID:      r.ReportID,
		GeneratedAt:   FormatTime(r.GeneratedAt),
		DurationMS:    r.DurationMS,
		Agent:         r.Agent,
		Host:          r.Host,
		Verdict:       r.Verdict,
		Compliant:     r.Compliant,
		Products:      products,
		Sources:       sources,
		Tags:          r.Tags,
		Dropped:       r.Dropped,
	})
}

// FormatTime formats t as reports write timestamps: RFC 3339 in UTC,
// truncated to the second, e.g. "2026-11-22T10:00:00Z".
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// NewID returns a random RFC 4122 version-4 UUID in its canonical lowercase
// form, e.g. "0f8fad5b-d9cb-469f-a165-70867728950e".
func NewID() string {
	var u [16]byte
	randomBytes(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10 (RFC 4122)
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// ComputeVerdict says what a scan with these products and sources
// concludes:
//
//   - VerdictNonCompliant when a restricted product is active or
//     installed (restricted leftovers are reported but do not by themselves
//     make a host non-compliant);
//   - otherwise VerdictIncomplete when a source failed or timed out (see
//     [Failed]): it could have seen a restricted product that the report
//     therefore cannot rule out;
//   - otherwise VerdictCompliant.
//
// Every source and enricher counts as one that could have seen a
// restricted product: package databases, services and units, well-known
// folders, processes, registry keys, Security Center, bundles, receipts,
// launchd jobs, extensions, and the pe enricher, whose signers reveal
// white-labelled builds. A source that is unavailable (processes of a
// mounted root, Security Center on Windows Server, a package manager the
// host does not have) is no failure: there was nothing for it to see.
func ComputeVerdict(products []Product, sources []Source) string {
	switch {
	case slices.ContainsFunc(products, restrictedInUse):
		return VerdictNonCompliant
	case slices.ContainsFunc(sources, Failed):
		return VerdictIncomplete
	}
	return VerdictCompliant
}

// Failed reports whether s failed or timed out, which leaves a scan
// incomplete. Warnings alone are no failure.
func Failed(s Source) bool {
	return s.Status == StatusError || s.Status == StatusTimeout
}

// VerdictOf returns r's verdict: its Verdict field when it holds one of
// the three verdicts, else (a report of an agent older than the field)
// the verdict its products and sources support, by [ComputeVerdict].
func VerdictOf(r *Report) string {
	switch r.Verdict {
	case VerdictCompliant, VerdictNonCompliant, VerdictIncomplete:
		return r.Verdict
	}
	return ComputeVerdict(r.Products, r.Sources)
}

// SetVerdict computes r's verdict from its products and sources and sets
// Verdict and Compliant, which is true exactly when the verdict is
// VerdictCompliant.
func (r *Report) SetVerdict() {
	r.Verdict = ComputeVerdict(r.Products, r.Sources)
	r.Compliant = r.Verdict == VerdictCompliant
}

// restrictedInUse reports whether p makes a host non-compliant.
func restrictedInUse(p Product) bool {
	return p.Restricted && (p.State == StateActive || p.State == StateInstalled)
}

// Sort puts the report in its canonical order, so that equal scans give
// byte-identical output: products restricted first, then by state (active,
// installed, leftover, anything else), vendor, name, id and version; each
// product's evidence by source, kind, value and location, without
// duplicates; sources by name.
func (r *Report) Sort() {
	for i := range r.Products {
		ev := r.Products[i].Evidence
		slices.SortFunc(ev, compareEvidence)
		r.Products[i].Evidence = slices.Compact(ev)
	}
	slices.SortStableFunc(r.Products, compareProducts)
	slices.SortStableFunc(r.Sources, func(a, b Source) int {
		return cmp.Or(
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Status, b.Status),
			cmp.Compare(a.Items, b.Items),
			cmp.Compare(a.DurationMS, b.DurationMS),
			cmp.Compare(a.Error, b.Error),
		)
	})
}

func compareProducts(a, b Product) int {
	return cmp.Or(
		-compareBool(a.Restricted, b.Restricted),
		cmp.Compare(stateRank(a.State), stateRank(b.State)),
		cmp.Compare(a.State, b.State),
		cmp.Compare(a.Vendor, b.Vendor),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(a.Version, b.Version),
	)
}

func compareEvidence(a, b Evidence) int {
	return cmp.Or(
		cmp.Compare(a.Source, b.Source),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Value, b.Value),
		cmp.Compare(a.Location, b.Location),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

func stateRank(s string) int {
	switch s {
	case StateActive:
		return 0
	case StateInstalled:
		return 1
	case StateLeftover:
		return 2
	default:
		return 3
	}
}

// clone returns a deep copy of r that sorting cannot affect r through.
func (r *Report) clone() *Report {
	c := *r
	c.Products = slices.Clone(r.Products)
	for i := range c.Products {
		c.Products[i].Evidence = slices.Clone(c.Products[i].Evidence)
		if p := c.Products[i].Policy; p != nil {
			pc := *p
			c.Products[i].Policy = &pc
		}
	}
	c.Sources = slices.Clone(r.Sources)
	for i := range c.Sources {
		c.Sources[i].Warnings = slices.Clone(c.Sources[i].Warnings)
	}
	return &c
}
