package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const (
	// maxJamfResult bounds the text between <result> and </result>, in
	// runes after XML escaping, so the value stays readable in Jamf Pro.
	maxJamfResult = 230
	// maxJamfItem bounds one product name in the result, in runes.
	maxJamfItem = 100
)

// renderJamf writes a Jamf Pro extension attribute result: one line
// "<result>…</result>" whose first word says what a smart group needs to
// know, most urgent first:
//
//	RESTRICTED: <name version (state)>; …  a restricted product is active or installed
//	INCOMPLETE: <source (status)>, …       none found, but a source failed or timed out
//	COMPLIANT: <name>; …                   otherwise, naming the other products active or
//	                                       installed, then "<vendor> leftover components"
//	                                       when only residue of a restricted product remains
//	COMPLIANT                              nothing active, installed or left over
//
// The first words are those of `avscout status --format jamf`, so one
// smart group serves both (leftovers do not make a host non-compliant
// there either). Leftovers of products that are not restricted are not
// mentioned.
func renderJamf(w io.Writer, r *Report) error {
	var inUse, other []string
	var leftoverVendors []string
	for _, p := range r.Products {
		switch {
		case restrictedInUse(p):
			item := p.Name
			if p.Version != "" {
				item += " " + p.Version
			}
			detail := p.State
			if p.WhiteLabel {
				if t := oneLine(p.Technology); t != "" {
					detail += ", " + t + " white-label"
				} else {
					detail += ", white-label"
				}
			}
			inUse = append(inUse, jamfItem(item)+" ("+jamfItem(detail)+")")
		case p.Restricted && p.State == StateLeftover:
			leftoverVendors = appendUnique(leftoverVendors, jamfItem(technologyOf(p)))
		case !p.Restricted && (p.State == StateActive || p.State == StateInstalled):
			other = appendUnique(other, jamfItem(p.Name))
		}
	}
	var text string
	switch {
	case len(inUse) > 0:
		text = fitList("RESTRICTED: ", inUse, "; ", "")
	case VerdictOf(r) == VerdictIncomplete:
		failed := FailedSources(r.Sources)
		for i, f := range failed {
			failed[i] = jamfItem(f)
		}
		text = fitList("INCOMPLETE: ", failed, ", ", "")
	case len(other) > 0 || len(leftoverVendors) > 0:
		for _, v := range leftoverVendors {
			other = append(other, v+" leftover components")
		}
		text = fitList("COMPLIANT: ", other, "; ", "")
	default:
		text = "COMPLIANT"
	}
	_, err := fmt.Fprintf(w, "<result>%s</result>\n", text)
	return err
}

// jamfItem makes a report value fit for the result line: one line, at most
// maxJamfItem runes, and "unknown" when empty.
func jamfItem(s string) string {
	s = truncate(oneLine(s), maxJamfItem)
	if s == "" {
		return "unknown"
	}
	return s
}

// fitList returns prefix, then as many items as fit joined by sep, then
// suffix, XML-escaped and at most maxJamfResult runes long; items left out
// are counted ("+2 more").
func fitList(prefix string, items []string, sep, suffix string) string {
	out := xmlEscape(prefix)
	end := xmlEscape(suffix)
	for i, it := range items {
		piece := xmlEscape(it)
		if i > 0 {
			piece = xmlEscape(sep) + piece
		}
		// Room must remain for the count of the items after this one.
		rest := ""
		if left := len(items) - i - 1; left > 0 {
			rest = fmt.Sprintf("%s+%d more", xmlEscape(sep), left)
		}
		budget := maxJamfResult - runeLen(out) - runeLen(end) - runeLen(rest)
		switch {
		case runeLen(piece) <= budget:
			out += piece
		case i == 0:
			out += fitEscaped(it, budget)
		default:
			return out + fmt.Sprintf("%s+%d more", xmlEscape(sep), len(items)-i) + end
		}
	}
	return out + end
}

// fitEscaped returns s XML-escaped, cut (with an ellipsis) so that the
// escaped text is at most budget runes long. Cuts never split an entity.
func fitEscaped(s string, budget int) string {
	if e := xmlEscape(s); runeLen(e) <= budget {
		return e
	}
	rs := []rune(s)
	for n := len(rs) - 1; n > 0; n-- {
		e := xmlEscape(strings.TrimRight(string(rs[:n]), " ") + ellipsis)
		if runeLen(e) <= budget {
			return e
		}
	}
	return ""
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
