package report

import (
	"strings"

	"github.com/avscout/avscout/internal/text"
)

func oneLine(s string) string           { return text.OneLine(s) }
func truncate(s string, max int) string { return text.Truncate(s, max) }

// Values in a report come from the scanned host (package names, registry
// strings, file paths) and may hold anything. The text renderers pass every
// value through oneLine so that a hostile or broken value cannot break a
// line, a table column or a terminal.

// cell prepares a value for a fixed-width display: one line, at most max
// runes; empty values show as "-".
func cell(s string, max int) string {
	s = truncate(oneLine(s), max)
	if s == "" {
		return "-"
	}
	return s
}

// errorLine prepares an error message for a one-line display: the lines of
// a multi-line error are joined with "; ".
func errorLine(s string, max int) string {
	var parts []string
	for line := range strings.Lines(s) {
		if l := oneLine(line); l != "" {
			parts = append(parts, l)
		}
	}
	return truncate(strings.Join(parts, "; "), max)
}
