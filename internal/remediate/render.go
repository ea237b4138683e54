package remediate

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats returns the formats [Render] writes.
func Formats() []string { return []string{"table", "json"} }

// Render writes p as a table a person reads, or as JSON.
func Render(w io.Writer, p *Plan, format string) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return fmt.Errorf("encode plan: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "table":
		_, err := io.WriteString(w, table(p))
		return err
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats(), ", "))
}

// CommandLine is argv as a person on the target OS would type it: quoted
// for cmd.exe's programs on Windows, for a POSIX shell elsewhere. For
// display only: the plan runs argv.
func CommandLine(targetOS string, argv []string) string {
	if targetOS == "windows" {
		return QuoteWindows(argv)
	}
	return QuotePOSIX(argv)
}

func table(p *Plan) string {
	var b strings.Builder
	host := p.Host
	if host == "" {
		host = "this host"
	}
	switch n := len(p.Products); n {
	case 0:
		fmt.Fprintf(&b, "Remediation plan for %s (%s): no restricted product found, nothing to remove (verdict %s).\n", host, p.OS, p.Verdict)
	default:
		fmt.Fprintf(&b, "Remediation plan for %s (%s): %d restricted product%s to remove, in this order (verdict %s).\n",
			host, p.OS, n, plural(n), p.Verdict)
	}
	for i, pp := range p.Products {
		fmt.Fprintf(&b, "\n%d. %s (%s)", i+1, pp.Name, pp.ID)
		if pp.Version != "" {
			fmt.Fprintf(&b, " %s", pp.Version)
		}
		fmt.Fprintf(&b, ", %s", pp.State)
		if pp.Last {
			b.WriteString(", removed last")
		}
		b.WriteString("\n")
		for j, s := range pp.Steps {
			fmt.Fprintf(&b, "   %d.%d %s: %s\n", i+1, j+1, s.Action, CommandLine(p.OS, s.Argv))
			fmt.Fprintf(&b, "       from %s\n", s.From)
			if len(s.Properties) > 0 {
				var props []string
				for _, pr := range s.Properties {
					props = append(props, pr+"=<value>")
				}
				fmt.Fprintf(&b, "       if uninstall is password-protected, add: %s\n", strings.Join(props, " "))
			}
			if s.Note != "" {
				fmt.Fprintf(&b, "       note: %s\n", s.Note)
			}
		}
		if pp.Manual != "" {
			fmt.Fprintf(&b, "   manual: %s\n", pp.Manual)
		}
		for _, o := range pp.Obstacles {
			fmt.Fprintf(&b, "   obstacle %s: %s %s [%s]\n", o.ID, o.Summary, o.Action, strings.Join(o.Sources, ", "))
		}
		if len(pp.Leftovers) > 0 {
			b.WriteString("   afterwards delete:\n")
			for _, l := range pp.Leftovers {
				fmt.Fprintf(&b, "     %s %s (present: %s)\n", l.Kind, l.Path, l.Present)
			}
		}
		for _, r := range pp.Rejected {
			fmt.Fprintf(&b, "   not run: %s: %s\n", r.Evidence, r.Reason)
		}
	}
	if len(p.Afterwards) > 0 {
		b.WriteString("\nOnce every product above is removed, delete the leftovers they share:\n")
		for _, l := range p.Afterwards {
			fmt.Fprintf(&b, "  %s %s (present: %s)\n", l.Kind, l.Path, l.Present)
		}
	}
	switch pr := p.Protection; {
	case len(p.Products) == 0:
	case pr.Protected:
		b.WriteString("\n")
		fmt.Fprintf(&b, "Afterwards the host is protected by: %s.\n", strings.Join(pr.By, ", "))
	default:
		fmt.Fprintf(&b, "\nWARNING: %s.\n", pr.Warning)
		if pr.Fallback != nil {
			fmt.Fprintf(&b, "  %s: %s [%s]\n", pr.Fallback.Name, pr.Fallback.Note, strings.Join(pr.Fallback.Sources, ", "))
		}
	}
	if len(p.Sources) > 0 {
		b.WriteString("\nSources:\n")
		keys := make([]string, 0, len(p.Sources))
		for k := range p.Sources {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  [%s] %s\n", k, p.Sources[k])
		}
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
