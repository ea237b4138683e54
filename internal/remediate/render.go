package remediate

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/text"
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
		if _, err = w.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		return nil
	case "table":
		if _, err := io.WriteString(w, table(p)); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		return nil
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
	host := text.OneLine(p.Host)
	if host == "" {
		host = "this host"
	}
	switch n := len(p.Products); n {
	case 0:
		fmt.Fprintf(&b, "Remediation plan for %s (%s): no restricted product found, nothing to remove (verdict %s).\n", host, text.OneLine(p.OS), text.OneLine(p.Verdict))
	default:
		fmt.Fprintf(&b, "Remediation plan for %s (%s): %d restricted product%s to remove, in this order (verdict %s).\n",
			host, text.OneLine(p.OS), n, plural(n), text.OneLine(p.Verdict))
	}
	for i, pp := range p.Products {
		fmt.Fprintf(&b, "\n%d. %s (%s)", i+1, text.OneLine(pp.Name), text.OneLine(pp.ID))
		if pp.Version != "" {
			fmt.Fprintf(&b, " %s", text.OneLine(pp.Version))
		}
		fmt.Fprintf(&b, ", %s", text.OneLine(pp.State))
		if pp.Last {
			b.WriteString(", removed last")
		}
		b.WriteString("\n")
		for j, s := range pp.Steps {
			fmt.Fprintf(&b, "   %d.%d %s: %s\n", i+1, j+1, text.OneLine(s.Action), text.OneLine(CommandLine(p.OS, s.Argv)))
			fmt.Fprintf(&b, "       from %s\n", text.OneLine(s.From))
			if len(s.Properties) > 0 {
				var props []string
				for _, pr := range s.Properties {
					props = append(props, text.OneLine(pr)+"=<value>")
				}
				fmt.Fprintf(&b, "       if uninstall is password-protected, add: %s\n", strings.Join(props, " "))
			}
			if s.Note != "" {
				fmt.Fprintf(&b, "       note: %s\n", text.OneLine(s.Note))
			}
		}
		if pp.Manual != "" {
			fmt.Fprintf(&b, "   manual: %s\n", text.OneLine(pp.Manual))
		}
		for _, o := range pp.Obstacles {
			fmt.Fprintf(&b, "   obstacle %s: %s %s [%s]\n", text.OneLine(o.ID), text.OneLine(o.Summary), text.OneLine(o.Action), text.OneLine(strings.Join(o.Sources, ", ")))
		}
		if len(pp.Leftovers) > 0 {
			b.WriteString("   afterwards delete:\n")
			for _, l := range pp.Leftovers {
				fmt.Fprintf(&b, "     %s %s (present: %s)\n", text.OneLine(l.Kind), text.OneLine(l.Path), text.OneLine(l.Present))
			}
		}
		for _, r := range pp.Rejected {
			fmt.Fprintf(&b, "   not run: %s: %s\n", text.OneLine(r.Evidence), text.OneLine(r.Reason))
		}
	}
	if len(p.Afterwards) > 0 {
		b.WriteString("\nOnce every product above is removed, delete the leftovers they share:\n")
		for _, l := range p.Afterwards {
			fmt.Fprintf(&b, "  %s %s (present: %s)\n", text.OneLine(l.Kind), text.OneLine(l.Path), text.OneLine(l.Present))
		}
	}
	switch pr := p.Protection; {
	case len(p.Products) == 0 || pr == nil:
	case pr.Protected:
		b.WriteString("\n")
		fmt.Fprintf(&b, "Afterwards the host is protected by: %s.\n", text.OneLine(strings.Join(pr.By, ", ")))
		if pr.Warning != "" {
			fmt.Fprintf(&b, "WARNING: %s.\n", text.OneLine(pr.Warning))
		}
	default:
		fmt.Fprintf(&b, "\nWARNING: %s.\n", text.OneLine(pr.Warning))
		if pr.Fallback != nil {
			fmt.Fprintf(&b, "  %s: %s [%s]\n", text.OneLine(pr.Fallback.Name), text.OneLine(pr.Fallback.Note), text.OneLine(strings.Join(pr.Fallback.Sources, ", ")))
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
			fmt.Fprintf(&b, "  [%s] %s\n", text.OneLine(k), text.OneLine(p.Sources[k]))
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
