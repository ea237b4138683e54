// Package enum holds the values the report contract gives names to: the
// state of a product, its category and confidence, the status of a
// detection source and the verdict of a scan.
//
// The report owns these words (they are its JSON and the collector's
// columns), but the catalog, which sits below the report, decides a
// product's state and checks a catalog entry's category, and the detection
// runner sets a source's status. So the words live in this leaf package,
// which imports nothing: report re-exports them, and lower layers import
// this package instead of reaching up to report.
//
// The values are plain strings: they are compared with and stored as the
// strings of a report, and a value here never changes (the report's JSON
// may grow new values but never rename one).
package enum

// States of a product on a host.
const (
	// StateActive means the product is running, whatever else is true.
	StateActive = "active"
	// StateInstalled means the product is installed but not running.
	StateInstalled = "installed"
	// StateLeftover means only residue (files, keys, drivers, config-files
	// packages) remains.
	StateLeftover = "leftover"
)

// Confidence levels of a product finding.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
)

// Statuses of a detection source.
const (
	StatusOK          = "ok"
	StatusError       = "error"
	StatusUnavailable = "unavailable"
	StatusTimeout     = "timeout"
)

// Verdicts of a report: what a compliance check concludes from one scan.
const (
	// VerdictCompliant: no restricted product is active or installed, and
	// every source that could have seen one worked.
	VerdictCompliant = "compliant"
	// VerdictNonCompliant: a restricted product is active or installed.
	VerdictNonCompliant = "non_compliant"
	// VerdictIncomplete: no restricted product was found, but a source
	// that could have seen one failed or timed out: the scan could not
	// see everything, so it cannot vouch for the host.
	VerdictIncomplete = "incomplete"
)

// Categories of products, as the schema lists them.
const (
	CategoryAntivirus       = "antivirus"
	CategoryEDR             = "edr"
	CategoryManagementAgent = "management-agent"
	CategoryVPN             = "vpn"
	CategoryPasswordManager = "password-manager"
	CategoryParentalControl = "parental-control"
	CategorySecuritySuite   = "security-suite"
	CategoryScanEngine      = "scan-engine"
	CategoryOther           = "other"
)

// Categories returns every product category, in the schema's order.
func Categories() []string {
	return []string{CategoryAntivirus, CategoryEDR, CategoryManagementAgent, CategoryVPN,
		CategoryPasswordManager, CategoryParentalControl, CategorySecuritySuite, CategoryScanEngine, CategoryOther}
}

// States returns every product state, the most alive first.
func States() []string { return []string{StateActive, StateInstalled, StateLeftover} }

// Statuses returns every source status.
func Statuses() []string { return []string{StatusOK, StatusError, StatusUnavailable, StatusTimeout} }

// Verdicts returns every verdict.
func Verdicts() []string { return []string{VerdictCompliant, VerdictNonCompliant, VerdictIncomplete} }
