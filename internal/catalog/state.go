package catalog

import (
	"fmt"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/report/enum"
)

// The state of a product comes from the most alive of its evidence, with
// these rules on every OS (the sources set each observation's status):
//
//   - active: something of it runs (a process, a running service or
//     driver, an enabled system extension).
//   - installed: a package database says installed (dpkg, rpm, apk,
//     pacman, an uninstall entry); or an enabled service, unit, SysV init
//     script or launchd job whose program exists; or its executables or
//     drivers are present where they run from.
//   - leftover: residue alone — configuration, logs, caches, bases, empty
//     folders, receipts or registry keys whose files are gone, a removed
//     package's configuration files.
//
// A program known only by its name never counts unless corroborated (see
// [Matcher.screen]), and residue of a removal never joins an installed
// product (see [grouping.assign]).
func stateOf(max detect.Status) string {
	switch {
	case max >= detect.Running:
		return enum.StateActive
	case max >= detect.Installed:
		return enum.StateInstalled
	}
	return enum.StateLeftover
}

func (m *Matcher) finding(g *group) Finding {
	f := Finding{
		ProductID: g.id,
		Name:      g.name,
		Category:  g.category,
		Evidence:  make([]detect.Observation, 0, len(g.evidence)),
		Trace:     g.trace,
	}
	for _, e := range g.evidence {
		f.Evidence = append(f.Evidence, e.o)
	}
	if g.vendor != nil {
		f.VendorID, f.Vendor = g.vendor.ID, g.vendor.Name
	} else {
		f.VendorID, f.Vendor = "unknown", g.vendorStr
	}
	switch g.kind {
	case vendorSoftware:
		f.trace("product: %s software that no catalog entry names, named from its own evidence", f.Vendor)
	case hosted:
		f.trace("product: another brand's product (%s) carrying %s technology", g.name, g.tech.Name)
	case components:
		f.trace("product: %s pieces that no product on the host claims", f.Vendor)
	}

	f.State = stateOf(g.maxStatus)
	best := detect.Status(-1)
	var why evidence
	for _, e := range g.evidence {
		if e.o.Status > best {
			best, why = e.o.Status, e
		}
	}
	switch f.State {
	case enum.StateActive:
		f.trace("state active: %s %q runs (%s)", why.o.Kind, nameOf(why.o), why.o.Source)
	case enum.StateInstalled:
		f.trace("state installed: %s %q is installed (%s)", why.o.Kind, nameOf(why.o), why.o.Source)
	default:
		f.trace("state leftover: only residue (%s); nothing installed or running", statusList(g))
	}

	// Version: from the most alive evidence that carries one.
	best = detect.Status(-1)
	for _, e := range g.evidence {
		if e.o.Version != "" && e.o.Status > best {
			f.Version, best = e.o.Version, e.o.Status
		}
	}

	techVendor := g.tech
	switch {
	case g.product != nil && g.product.WhiteLabel:
		techVendor, _ = m.cat.Vendor(g.product.Technology)
		f.trace("white_label: the catalog lists %s as a build of %s technology", g.name, techVendor.Name)
	case g.otherBrand:
		techVendor = g.vendor
		f.trace("white_label: %s software presented under another name (%q)", g.vendor.Name, g.name)
	case techVendor != nil && techVendor != g.vendor:
		f.trace("white_label: presents %s but carries %s technology: %s", f.Vendor, techVendor.Name, g.techWhy)
	}
	if techVendor != nil && (techVendor != g.vendor || g.otherBrand) {
		f.WhiteLabel = true
		f.Technology = techVendor.Name
	}

	var ids []string
	if g.vendor != nil {
		ids = append(ids, g.vendor.ID)
	}
	if techVendor != nil {
		ids = append(ids, techVendor.ID)
	}
	if r := m.cat.RuleFor(ids...); r != nil {
		f.Restricted, f.Rule = true, r
		f.trace("restricted: policy rule %s restricts %s", r.ID, restrictedName(m.cat, r, g.vendor, techVendor))
	}
	var reason string
	f.Confidence, reason = confidence(g)
	f.trace("confidence %s: %s", f.Confidence, reason)
	return f
}

func (f *Finding) trace(format string, args ...any) {
	f.Trace = append(f.Trace, fmt.Sprintf(format, args...))
}

func restrictedName(c *Catalog, r *Rule, vendor, tech *Vendor) string {
	if vendor != nil && c.RuleFor(vendor.ID) == r {
		return "the vendor " + vendor.Name
	}
	return "products built on " + tech.Name + " technology"
}

func statusList(g *group) string {
	seen := map[string]bool{}
	var out string
	for _, e := range g.evidence {
		s := fmt.Sprintf("%s %s", e.o.Kind, e.o.Status)
		if !seen[s] {
			seen[s] = true
			if out != "" {
				out += ", "
			}
			out += s
		}
	}
	return out
}

func confidence(g *group) (string, string) {
	switch {
	case g.identity:
		return enum.ConfidenceHigh, "a publisher or signer confirms the vendor"
	case g.techBySigner:
		return enum.ConfidenceHigh, "a signer confirms the technology"
	case len(g.specific) >= 2:
		return enum.ConfidenceHigh, fmt.Sprintf("%d independent kinds of specific evidence agree", len(g.specific))
	case len(g.specific) == 1:
		return enum.ConfidenceMedium, "one kind of specific evidence"
	}
	for _, e := range g.evidence {
		if e.o.Kind == detect.KindDriver || e.o.Status >= detect.Installed {
			return enum.ConfidenceMedium, "a driver or installed component of the vendor"
		}
	}
	return enum.ConfidenceLow, "residue alone"
}
