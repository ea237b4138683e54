package scan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/report"
)

// Conditions of `avscout scan --fail-on`.
const (
	FailRestricted = "restricted" // the verdict is non_compliant
	FailIncomplete = "incomplete" // the verdict is incomplete
)

// FailOn is the set of --fail-on conditions.
type FailOn []string

// ParseFailOn reads --fail-on's comma-separated conditions; empty names
// none. An unknown or empty condition is an error: a typo must not turn
// a gate off.
func ParseFailOn(s string) (FailOn, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out FailOn
	for _, c := range strings.Split(s, ",") {
		switch c = strings.TrimSpace(c); c {
		case FailRestricted, FailIncomplete:
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		default:
			return nil, fmt.Errorf("unknown --fail-on %q (want a comma-separated list of %s, %s)", c, FailRestricted, FailIncomplete)
		}
	}
	return out, nil
}

// Failing reports whether a scan with this verdict meets one of the
// conditions.
func (f FailOn) Failing(verdict string) bool {
	return slices.Contains(f, FailRestricted) && verdict == report.VerdictNonCompliant ||
		slices.Contains(f, FailIncomplete) && verdict == report.VerdictIncomplete
}
