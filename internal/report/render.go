package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Output formats understood by [Render].
const (
	FormatJSON  = "json"  // the report document, indented
	FormatTable = "table" // for a human at a terminal
	FormatJamf  = "jamf"  // a Jamf Pro extension attribute result
)

// Formats returns the output formats [Render] accepts, in the order to
// list them to users.
func Formats() []string {
	return []string{FormatJSON, FormatTable, FormatJamf}
}

// Render writes r to w in the given format (see [Formats]).
//
// Output is deterministic: Render prints a canonically ordered copy of r
// (see [Report.Sort]) and leaves r itself untouched.
func Render(w io.Writer, r *Report, format string) error {
	if r == nil {
		return errors.New("rendering report: nil report")
	}
	var render func(io.Writer, *Report) error
	switch format {
	case FormatJSON:
		render = renderJSON
	case FormatTable:
		render = renderTable
	case FormatJamf:
		render = renderJamf
	default:
		return fmt.Errorf("unknown report format %q (want one of: %s)", format, strings.Join(Formats(), ", "))
	}
	c := r.clone()
	c.Sort()
	if err := render(w, c); err != nil {
		return fmt.Errorf("rendering report as %s: %w", format, err)
	}
	return nil
}

// renderJSON writes the document indented by two spaces, with a trailing
// newline.
func renderJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// RestrictedCounts returns how many restricted products are in use (active
// or installed) and how many are leftovers.
func RestrictedCounts(products []Product) (inUse, leftover int) {
	for _, p := range products {
		switch {
		case restrictedInUse(p):
			inUse++
		case p.Restricted && p.State == StateLeftover:
			leftover++
		}
	}
	return inUse, leftover
}

// FailedSources names the sources that failed or timed out, each with
// how ("dpkg (error)", "processes (timeout)"), in the order given: why a
// scan is incomplete.
func FailedSources(sources []Source) []string {
	var out []string
	for _, s := range sources {
		if Failed(s) {
			out = append(out, oneLine(s.Name)+" ("+s.Status+")")
		}
	}
	return out
}

// distinctValues returns up to n distinct evidence values, in order, and
// how many distinct values were left out.
func distinctValues(ev []Evidence, n int) (vals []string, more int) {
	seen := make(map[string]bool)
	for _, e := range ev {
		if e.Value == "" || seen[e.Value] {
			continue
		}
		seen[e.Value] = true
		if len(vals) < n {
			vals = append(vals, e.Value)
		} else {
			more++
		}
	}
	return vals, more
}

// technologyOf names the vendor whose technology p carries: the white-label
// technology when known, otherwise the vendor.
func technologyOf(p Product) string {
	if p.WhiteLabel && p.Technology != "" {
		return p.Technology
	}
	return p.Vendor
}

// appendUnique appends s to list unless it is empty or already there.
func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
