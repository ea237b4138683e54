package store

import (
	"time"

	"github.com/avscout/avscout/internal/report"
)

// Host states in the fleet view, derived from the host's latest report and
// its age.
const (
	// HostRestricted: the latest report has a restricted product that is
	// active or installed (its verdict is non_compliant).
	HostRestricted = "restricted"
	// HostIncomplete: the latest report found no restricted product, but
	// a source that could have seen one failed or timed out (its verdict
	// is incomplete): the host cannot be vouched for.
	HostIncomplete = "incomplete"
	// HostUnprotected: compliant, but no antivirus/EDR/security-suite
	// product is active.
	HostUnprotected = "unprotected"
	// HostClean: compliant and protected by an active product.
	HostClean = "clean"
)

// HostFilter selects hosts for the list, the API and the export. Zero
// fields do not filter.
type HostFilter struct {
	Compliant  *bool
	Verdict    string // report.VerdictCompliant, report.VerdictNonCompliant or report.VerdictIncomplete
	Product    string // catalog product id present on the host (any state)
	Vendor     string // vendor name present on the host (any state), case-insensitive
	State      string // HostRestricted, HostIncomplete, HostUnprotected or HostClean
	Stale      *bool  // latest scan before the stale window
	StaleAfter time.Duration
	Tag        string // "key=value"
	// DefinitionsBefore (YYYY-MM-DD) keeps hosts with a product in use
	// (active or installed) whose definitions date is known and earlier.
	DefinitionsBefore string
	// DefinitionsStopped keeps hosts with a restricted product in use whose
	// definitions stopped when its policy barred updates: last updated
	// within the month before that day, and not since (Kaspersky's bases,
	// frozen when updates ended on 2024-09-29). Older dates stopped for
	// another reason: DefinitionsBefore finds them.
	DefinitionsStopped bool
	OS                 string // the host's OS name, exactly
	WhiteLabel         *bool  // a white-label build of restricted technology in use
	Search             string // substring of hostname or host id, case-insensitive
	SeenSince          time.Time
	Limit              int // default 100, max 1000
	Offset             int
}

// HostSummary is one row of the fleet list: a host and the gist of its
// latest report.
type HostSummary struct {
	ID           string            `json:"id"`
	Hostname     string            `json:"hostname"`
	OS           string            `json:"os"`
	OSVersion    string            `json:"os_version"`
	Arch         string            `json:"arch"`
	AgentVersion string            `json:"agent_version"`
	Tags         map[string]string `json:"tags,omitempty"`
	FirstSeen    time.Time         `json:"first_seen"`
	LastSeen     time.Time         `json:"last_seen"` // when the latest report was received
	LastReportID string            `json:"last_report_id"`
	// LastScan is when the latest report's scan ran (its generated_at),
	// which is what Stale counts from: a report queued for days arrives
	// as old as it is.
	LastScan time.Time `json:"last_scan"`
	// Verdict is the latest report's, derived from its products and
	// sources (see [report.ComputeVerdict]) whether or not the agent was
	// new enough to write one.
	Verdict    string   `json:"verdict"`
	Compliant  bool     `json:"compliant"` // true exactly when Verdict is compliant
	State      string   `json:"state"`     // HostRestricted, HostIncomplete, HostUnprotected or HostClean
	Stale      bool     `json:"stale"`
	Restricted []string `json:"restricted"` // names of restricted products active or installed
	Protection []string `json:"protection"` // names of active security products
	Products   int      `json:"products"`
}

// HostPage is one page of hosts.
type HostPage struct {
	Hosts  []HostSummary `json:"hosts"`
	Total  int           `json:"total"` // hosts matching the filter, all pages
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
}

// HostDetail is a host with its latest full report and the history of
// changes between its reports.
type HostDetail struct {
	HostSummary
	// Latest is the latest report as received, except that a report of
	// an agent older than the verdict gets the derived one (and compliant
	// to match).
	Latest  report.Report `json:"latest"`
	History []Change      `json:"history"` // newest first, in the order received
}

// Change is one difference between two consecutive reports of a host,
// consecutive in the order the collector received them.
type Change struct {
	At       time.Time `json:"at"`        // generated_at of the report that showed it
	ReportID string    `json:"report_id"` // that report
	Kind     string    `json:"kind"`      // "product-added", "product-removed", "state-changed", "version-changed", "compliance-changed" (from/to: compliant, non-compliant, incomplete), "first-report"
	Product  string    `json:"product,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
}

// Summary is the fleet at a glance.
type Summary struct {
	Hosts      int `json:"hosts"`
	Compliant  int `json:"compliant"`  // hosts whose verdict is compliant
	Restricted int `json:"restricted"` // hosts with a restricted product active or installed
	// Incomplete counts the hosts whose latest scan found no restricted
	// product but could not see everything (verdict incomplete).
	Incomplete  int `json:"incomplete"`
	Unprotected int `json:"unprotected"` // compliant hosts without an active security product
	Stale       int `json:"stale"`       // hosts whose latest scan is older than the stale window
	WhiteLabel  int `json:"white_label"` // hosts with a white-label build of restricted technology
	// DefinitionsStopped counts the hosts with a restricted product whose
	// definitions stopped by the day its policy bars updates from (see
	// [HostFilter.DefinitionsStopped]).
	DefinitionsStopped int `json:"definitions_stopped"`
	// RestrictedProducts counts hosts per restricted product (active or
	// installed), most hosts first.
	RestrictedProducts []ProductCount `json:"restricted_products"`
	StaleAfter         time.Duration  `json:"-"`
	GeneratedAt        time.Time      `json:"generated_at"`
}

// ProductCount is how many hosts have a product.
type ProductCount struct {
	ID     string `json:"id"`
	Vendor string `json:"vendor"`
	Name   string `json:"name"`
	Hosts  int    `json:"hosts"`
}

// CompliantPercent is the share of compliant hosts, 0–100.
func (s Summary) CompliantPercent() float64 {
	if s.Hosts == 0 {
		return 0
	}
	return 100 * float64(s.Compliant) / float64(s.Hosts)
}

// HostProduct is one product of a host's latest report, without its
// evidence (which [HostDetail.Latest] carries).
type HostProduct struct {
	ID         string `json:"id"`
	Vendor     string `json:"vendor"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	Category   string `json:"category"`
	State      string `json:"state"`
	Restricted bool   `json:"restricted"`
	WhiteLabel bool   `json:"white_label"`
	Technology string `json:"technology,omitempty"`
	Confidence string `json:"confidence"`
	// DefinitionsDate is the product's last definitions update as its
	// evidence records it (YYYY-MM-DD), and UpdatesEnded the day its
	// policy rule bars updates from; each empty when unknown.
	DefinitionsDate string `json:"definitions_date,omitempty"`
	UpdatesEnded    string `json:"updates_ended,omitempty"`
	// Evidence summarises what the product was found by: its first
	// evidence items as "source kind value", then how many more.
	Evidence string `json:"evidence_summary"`
}

// ExportRow is one row of the fleet export: a host and one of its current
// products. A host without products gives one row with HasProduct false.
type ExportRow struct {
	Host HostSummary
	// ReportSHA256 is the hex digest of the host's latest report as
	// received (GET /v1/reports/{id}/raw serves those bytes).
	ReportSHA256 string
	HasProduct   bool
	Product      HostProduct
}
