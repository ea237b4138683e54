package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/avscout/avscout/internal/text"
)

// maxJamfItem bounds one product name in the result, in runes.
const maxJamfItem = 100

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
	var line string
	switch {
	case len(inUse) > 0:
		line = fitList("RESTRICTED: ", inUse, "; ", "")
	case VerdictOf(r) == VerdictIncomplete:
		failed := FailedSources(r.Sources)
		for i, f := range failed {
			failed[i] = jamfItem(f)
		}
		line = fitList("INCOMPLETE: ", failed, ", ", "")
	case len(other) > 0 || len(leftoverVendors) > 0:
		for _, v := range leftoverVendors {
			other = append(other, v+" leftover components")
		}
		line = fitList("COMPLIANT: ", other, "; ", "")
	default:
		line = "COMPLIANT"
	}
	return WriteJamfResult(w, line)
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
// suffix, at most MaxJamfResult bytes long; items left out are counted
// ("+2 more"). [WriteJamfResult] cleans the text without making it
// longer, so the budget holds after it.
func fitList(prefix string, items []string, sep, suffix string) string {
	out := prefix
	for i, it := range items {
		piece := it
		if i > 0 {
			piece = sep + piece
		}
		// Room must remain for the count of the items after this one.
		rest := ""
		if left := len(items) - i - 1; left > 0 {
			rest = fmt.Sprintf("%s+%d more", sep, left)
		}
		budget := MaxJamfResult - len(out) - len(suffix) - len(rest)
		switch {
		case len(piece) <= budget:
			out += piece
		case i == 0:
			out += clipTo(it, budget)
		default:
			return out + fmt.Sprintf("%s+%d more", sep, len(items)-i) + suffix
		}
	}
	return out + suffix
}

// MaxJamfResult bounds the text between <result> and </result>, in bytes,
// so that the value stays readable in Jamf Pro.
const MaxJamfResult = 230

// WriteJamfResult writes text as a Jamf Pro extension attribute result:
// one line "<result>text</result>". Jamf Pro stores the text between the
// first <result> and </result> as it is, unescaped, so the text is made
// one printable line ([text.OneLine]), its angle brackets become
// parentheses (no value can open or close the tag, and no entity shows up
// in the inventory), and it is cut to at most [MaxJamfResult] bytes. Both
// `avscout scan --format jamf` and `avscout status --format jamf` write
// their line with it.
func WriteJamfResult(w io.Writer, s string) error {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '<':
			return '('
		case '>':
			return ')'
		}
		return r
	}, text.OneLine(s))
	_, err := fmt.Fprintf(w, "<result>%s</result>\n", clipTo(s, MaxJamfResult))
	return err
}

// clipTo cuts s to at most max bytes, marking the cut with an ellipsis.
func clipTo(s string, max int) string {
	switch {
	case len(s) <= max:
		return s
	case max < len(text.Ellipsis):
		return ""
	}
	return text.Clip(s, max-len(text.Ellipsis))
}
