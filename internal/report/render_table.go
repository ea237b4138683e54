package report

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Widest a value may be, in runes, before the table truncates it.
const (
	maxHeaderValue = 100
	maxState       = 10
	maxVendor      = 24
	maxProduct     = 48
	maxVersion     = 20
	maxCategory    = 18
	maxConfidence  = 10
	maxNote        = 60
	maxReason      = 160
	maxEvidence    = 60
	maxSourceName  = 24
	maxSourceError = 120
	maxExplain     = 240

	// whyEvidence is how many evidence values a "seen:" line lists.
	whyEvidence = 3
)

// renderTable writes the report for a human at a terminal: a header about
// the host and scan, the verdict, a table of products with the reasons for
// each restricted one, and a footer on the sources. It writes plain text
// only: no colours, no control characters from the report.
func renderTable(w io.Writer, r *Report) error {
	var b bytes.Buffer
	writeTableHeader(&b, r)
	b.WriteByte('\n')
	writeVerdict(&b, r)
	b.WriteByte('\n')
	if len(r.Products) == 0 {
		b.WriteString("No antivirus or endpoint-security software found.\n")
	} else {
		writeProducts(&b, r.Products)
	}
	if len(r.Dropped) > 0 {
		b.WriteByte('\n')
		writeDropped(&b, r.Dropped)
	}
	b.WriteByte('\n')
	writeSources(&b, r.Sources)
	_, err := w.Write(b.Bytes())
	return err
}

func writeTableHeader(b *bytes.Buffer, r *Report) {
	line := func(label, value string) {
		fmt.Fprintf(b, "%-9s %s\n", label+":", value)
	}
	h := r.Host
	line("Host", cell(h.Hostname, maxHeaderValue))
	var osParts []string
	for _, s := range []string{h.OS, h.OSVersion, h.Arch} {
		if s = truncate(oneLine(s), maxHeaderValue); s != "" {
			osParts = append(osParts, s)
		}
	}
	line("OS", cell(strings.Join(osParts, ", "), 3*maxHeaderValue))
	if h.Root != "/" && h.Root != "" {
		line("Root", cell(h.Root, maxHeaderValue))
	}
	line("Scanned", fmt.Sprintf("%s, took %d ms", r.GeneratedAt.UTC().Format("2006-01-02 15:04:05 UTC"), r.DurationMS))
	catalog := cell(r.Agent.CatalogVersion, maxHeaderValue)
	if agent := oneLine(strings.TrimSpace(r.Agent.Name + " " + r.Agent.Version)); agent != "" {
		catalog += " (" + truncate(agent, maxHeaderValue) + ")"
	}
	line("Catalog", catalog)
	line("Report", cell(r.ReportID, maxHeaderValue))
	if len(r.Tags) > 0 {
		var tags []string
		for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
			tags = append(tags, oneLine(k)+"="+oneLine(r.Tags[k]))
		}
		line("Tags", truncate(strings.Join(tags, ", "), 2*maxHeaderValue))
	}
}

// writeVerdict writes the banner: NOT COMPLIANT, INCOMPLETE (with the
// sources that could not look, and how) or COMPLIANT.
func writeVerdict(b *bytes.Buffer, r *Report) {
	inUse, leftover := RestrictedCounts(r.Products)
	switch verdict := VerdictOf(r); {
	case verdict == VerdictNonCompliant:
		fmt.Fprintf(b, "NOT COMPLIANT: %d restricted product(s) installed or active\n", inUse)
	case verdict == VerdictIncomplete:
		b.WriteString("INCOMPLETE: no restricted product found, but ")
		if failed := FailedSources(r.Sources); len(failed) > 0 {
			fmt.Fprintf(b, "%d source(s) could not look: %s", len(failed), truncate(strings.Join(failed, ", "), 3*maxHeaderValue))
		} else {
			b.WriteString("the scan could not see everything")
		}
		if leftover > 0 {
			fmt.Fprintf(b, "; %d restricted leftover(s) found (residue only)", leftover)
		}
		b.WriteByte('\n')
	case leftover > 0:
		fmt.Fprintf(b, "COMPLIANT (%d restricted leftover(s) found: residue only, neither installed nor active)\n", leftover)
	default:
		b.WriteString("COMPLIANT\n")
	}
}

// writeProducts writes the aligned product table. Each restricted product
// is followed by indented lines saying why it is restricted and what
// showed it.
func writeProducts(b *bytes.Buffer, products []Product) {
	notes := make([]string, len(products))
	anyNote := false
	for i, p := range products {
		var n []string
		if p.WhiteLabel {
			if t := oneLine(p.Technology); t != "" {
				n = append(n, "white-label ("+t+" technology)")
			} else {
				n = append(n, "white-label")
			}
		}
		if p.Restricted && p.State == StateLeftover {
			n = append(n, "residue only, not counted against compliance")
		}
		notes[i] = strings.Join(n, "; ")
		anyNote = anyNote || notes[i] != ""
	}

	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', 0)
	header := []string{"STATE", "VENDOR", "PRODUCT", "VERSION", "CATEGORY", "RESTRICTED", "CONFIDENCE"}
	if anyNote {
		header = append(header, "NOTE")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i, p := range products {
		restricted := "no"
		switch {
		case restrictedInUse(p):
			restricted = "!! yes"
		case p.Restricted:
			restricted = "yes"
		}
		row := []string{
			cell(p.State, maxState),
			cell(p.Vendor, maxVendor),
			cell(p.Name, maxProduct),
			cell(p.Version, maxVersion),
			cell(p.Category, maxCategory),
			restricted,
			cell(p.Confidence, maxConfidence),
		}
		if anyNote {
			row = append(row, truncate(notes[i], maxNote))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush() // writes to a bytes.Buffer: cannot fail

	// The tabwriter wrote one line per row after the header: interleave
	// the reasons, which must not take part in column alignment.
	lines := strings.Split(strings.TrimSuffix(tb.String(), "\n"), "\n")
	for i, l := range lines {
		b.WriteString(strings.TrimRight(l, " "))
		b.WriteByte('\n')
		if i == 0 {
			continue
		}
		if products[i-1].Restricted {
			writeWhy(b, products[i-1])
		}
		for _, l := range products[i-1].Explain {
			fmt.Fprintf(b, "    - %s\n", cell(l, maxExplain))
		}
	}
}

// writeDropped lists the matches that did not count (scan --explain).
func writeDropped(b *bytes.Buffer, dropped []Dropped) {
	b.WriteString("Not counted:\n")
	for _, d := range dropped {
		fmt.Fprintf(b, "  %s (%s): %s\n", cell(d.Evidence.Value, maxEvidence), cell(d.Evidence.Source, maxSourceName), cell(d.Reason, maxExplain))
	}
}

func writeWhy(b *bytes.Buffer, p Product) {
	why := "restricted by policy"
	if p.Policy != nil {
		reason := truncate(oneLine(p.Policy.Reason), maxReason)
		rule := truncate(oneLine(p.Policy.Rule), maxVendor)
		switch {
		case reason != "" && rule != "":
			why = reason + " [" + rule + "]"
		case reason != "":
			why = reason
		case rule != "":
			why = "restricted by rule " + rule
		}
	}
	fmt.Fprintf(b, "    why:  %s\n", why)
	vals, more := distinctValues(p.Evidence, whyEvidence)
	if len(vals) == 0 {
		return
	}
	for i, v := range vals {
		vals[i] = cell(v, maxEvidence)
	}
	seen := strings.Join(vals, "; ")
	if more > 0 {
		seen += fmt.Sprintf(" (+%d more)", more)
	}
	fmt.Fprintf(b, "    seen: %s\n", seen)
}

// writeSources writes one line per source: name, status, items, duration
// and, for a source that failed, its error on one line.
func writeSources(b *bytes.Buffer, sources []Source) {
	if len(sources) == 0 {
		b.WriteString("Sources: none run\n")
		return
	}
	b.WriteString("Sources:\n")
	itemsWidth, msWidth := 0, 0
	for _, s := range sources {
		itemsWidth = max(itemsWidth, len(strconv.Itoa(s.Items)))
		msWidth = max(msWidth, len(strconv.FormatInt(s.DurationMS, 10)))
	}
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', 0)
	for _, s := range sources {
		row := []string{
			"  " + cell(s.Name, maxSourceName),
			cell(s.Status, maxState+2),
			fmt.Sprintf("%*d items", itemsWidth, s.Items),
			fmt.Sprintf("%*d ms", msWidth, s.DurationMS),
		}
		// Every row gets the error cell, empty or not, so that the columns
		// before it align across all rows. A source that worked but could
		// not read some items shows the first of them.
		note := s.Error
		if note == "" && len(s.Warnings) > 0 {
			note = fmt.Sprintf("%d warning(s): %s", len(s.Warnings), s.Warnings[0])
		}
		row = append(row, errorLine(note, maxSourceError))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush() // writes to a bytes.Buffer: cannot fail
	for l := range strings.Lines(tb.String()) {
		b.WriteString(strings.TrimRight(l, " \n"))
		b.WriteByte('\n')
	}
}
