package report

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Values in a report come from the scanned host (package names, registry
// strings, file paths) and may hold anything. The text renderers pass every
// value through oneLine so that a hostile or broken value cannot break a
// line, a table column or a terminal.

// ellipsis marks a truncated value. It is ASCII so that legacy Windows
// consoles show it correctly.
const ellipsis = "..."

// oneLine returns s as a single line of printable text:
//   - line breaks and tabs (including U+2028 and U+2029) become spaces;
//   - other control characters, invalid UTF-8, and invisible format
//     characters that can reorder or hide text (bidi overrides, zero-width
//     characters) become '?';
//   - leading and trailing spaces are trimmed.
func oneLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteByte('?')
		case r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f' ||
			r == '\u0085' || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// wordSlack is at most how many runes truncate gives up to cut at a space rather
// than inside a word.
const wordSlack = 12

// truncate shortens s to at most max runes, marking the cut with an
// ellipsis. It cuts at a space when one is near the limit.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= len(ellipsis) {
		return ellipsis[:max]
	}
	n := 0
	for i := range s {
		if n == max-len(ellipsis) {
			head := s[:i]
			if sp := strings.LastIndexByte(head, ' '); sp > 0 && utf8.RuneCountInString(head[sp:]) <= min(wordSlack, max/4) {
				head = head[:sp]
			}
			return strings.TrimRight(head, " ") + ellipsis
		}
		n++
	}
	return s
}

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
