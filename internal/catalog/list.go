package catalog

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable writes what `avscout catalog` shows: the catalog's version
// and size, each policy rule, and one row per product with its vendor,
// category, the OSes it has fingerprints for, and whether the policy
// restricts it.
func (c *Catalog) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "avscout catalog %s: %d vendors, %d products\n", c.Version, len(c.Vendors), len(c.Products))
	for _, r := range c.Policy.Rules {
		fmt.Fprintf(w, "policy %s restricts %s: %s\n", r.ID, strings.Join(r.Vendors, ", "), r.Reason)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tPRODUCT\tCATEGORY\tPLATFORMS\tRESTRICTED")
	for _, p := range c.Products {
		vendor := p.Vendor
		if v, ok := c.Vendor(p.Vendor); ok {
			vendor = v.Name
		}
		oses := make([]string, 0, len(p.Fingerprints))
		for os := range p.Fingerprints {
			oses = append(oses, os)
		}
		slices.Sort(oses)
		restricted := ""
		if c.Restricts(p) {
			restricted = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", vendor, p.Name, p.Category, strings.Join(oses, ","), restricted)
	}
	return tw.Flush()
}
