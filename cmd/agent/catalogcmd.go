package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/avscout/avscout/internal/catalog"
)

func runCatalog(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("catalog")
	format := fs.String("format", "table", "output format: table or json")
	catFile := fs.String("catalog", "", "load the catalog or policy from `FILE`")
	if code, ok := parseFlags(fs, "Lists the vendors and products avscout knows, and which the policy restricts.", args, stdout, stderr); !ok {
		if code == exitOK {
			return nil
		}
		return errReported
	}
	cat, err := catalog.Load(*catFile)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cat)
	case "table":
		fmt.Fprintf(stdout, "avscout catalog %s: %d vendors, %d products\n", cat.Version, len(cat.Vendors), len(cat.Products))
		for _, r := range cat.Policy.Rules {
			fmt.Fprintf(stdout, "policy %s restricts %s: %s\n", r.ID, strings.Join(r.Vendors, ", "), r.Reason)
		}
		fmt.Fprintln(stdout)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VENDOR\tPRODUCT\tCATEGORY\tPLATFORMS\tRESTRICTED")
		for _, p := range cat.Products {
			v, _ := cat.Vendor(p.Vendor)
			var oses []string
			for os := range p.Fingerprints {
				oses = append(oses, os)
			}
			slices.Sort(oses)
			restricted := ""
			if cat.Restricts(p) {
				restricted = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, p.Name, p.Category, strings.Join(oses, ","), restricted)
		}
		return tw.Flush()
	}
	return fmt.Errorf("catalog: unknown --format %q (want table or json)", *format)
}
