// Package text makes values that come from a scanned host safe to print:
// one line, printable, bounded. The report renderers and the schema
// validator's messages share it, and so do the MDM outputs of `avscout
// status`.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ellipsis marks a truncated value. It is ASCII so that legacy Windows
// consoles show it correctly.
const Ellipsis = "..."

// OneLine returns s as a single line of printable text:
//   - line breaks and tabs (including U+2028 and U+2029) become spaces;
//   - other control characters, invalid UTF-8, and invisible format
//     characters that can reorder or hide text (bidi overrides, zero-width
//     characters) become '?';
//   - leading and trailing spaces are trimmed.
func OneLine(s string) string {
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

// Truncate shortens s to at most max runes, marking the cut with an
// Ellipsis. It cuts at a space when one is near the limit.
func Truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= len(Ellipsis) {
		return Ellipsis[:max]
	}
	n := 0
	for i := range s {
		if n == max-len(Ellipsis) {
			head := s[:i]
			if sp := strings.LastIndexByte(head, ' '); sp > 0 && utf8.RuneCountInString(head[sp:]) <= min(wordSlack, max/4) {
				head = head[:sp]
			}
			return strings.TrimRight(head, " ") + Ellipsis
		}
		n++
	}
	return s
}

// Clip keeps at most max bytes of s, cut at a rune boundary, marking the
// cut with an Ellipsis; invalid UTF-8 in what is kept is dropped. It is
// for values bounded in bytes (what is stored, sent or logged), where
// [Truncate] bounds what people read, in runes.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + Ellipsis
}

// SplitList splits a comma-separated list (a flag such as --sources, a
// managed setting), trimming spaces and dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// IsUUID reports whether s is a UUID written as 36 characters,
// 8-4-4-4-12 hexadecimal digits of either case separated by hyphens, as
// report ids and (in braces) Windows Installer product codes are.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
