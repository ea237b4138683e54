package remediate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Everything a plan's table prints from the host (its name, a product's
// name and version, where evidence was read, why it was refused) is
// printed on one line with control characters, terminal escapes and
// bidi overrides neutralised.
func TestRenderTableHostileText(t *testing.T) {
	const esc = "\x1b]0;owned\x07\x1b[2J"
	hostile := []string{esc, "a\r\nFAKE LINE", "\u202egnp.exe", "\x00nul", "x\u200by"}
	for _, h := range hostile {
		p := &Plan{Host: "pc" + h, OS: "windows", Verdict: "non_compliant" + h, Products: []ProductPlan{{
			ID: "k" + h, Name: "Kaspersky" + h, Version: "1.0" + h, State: "installed" + h,
			Steps: []Step{{Action: ActionUninstall, Argv: []string{`C:\Program Files\K\u.exe`, "/S" + h}, From: `HKLM\X` + h, Note: "n" + h,
				Properties: []string{"KLLOGIN" + h}}},
			Leftovers: []Leftover{{Kind: "path", Path: `C:\K` + h, Present: "yes"}},
			Rejected:  []Rejected{{Evidence: `HKLM\Y` + h, Reason: "r" + h}},
			Manual:    "m" + h,
		}}, Afterwards: []Leftover{{Kind: "key", Path: `HKLM\Z` + h, Present: "yes"}},
			Protection: &Protection{Protected: true, By: []string{"Other AV" + h}}}
		var b strings.Builder
		if err := Render(&b, p, "table"); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsAny(out, "\x1b\x07\r\x00\u202e\u200b") {
			t.Errorf("%q reached the table raw:\n%q", h, out)
		}
		if strings.Contains(out, "\nFAKE LINE") {
			t.Errorf("%q started a line of its own:\n%s", h, out)
		}
	}
}

// quoteShort cuts at a rune boundary and escapes what it quotes.
func TestQuoteShort(t *testing.T) {
	for _, in := range []string{strings.Repeat("a", 79) + "жж", strings.Repeat("я", 60), "kesl\x1b[2J;rm", "\xff\xfe"} {
		got := quoteShort(in)
		if !utf8.ValidString(got) || strings.Contains(got, "\x1b") || len(got) > 100 {
			t.Errorf("quoteShort(%q) = %q", in, got)
		}
	}
}

// An uninstall command holding a control character (an escape sequence
// for whoever reads the plan) is not run.
func TestParseUninstallControl(t *testing.T) {
	for _, in := range []string{"\"C:\\Program Files\\K\\u.exe\" /S\x1b[2J", "\"C:\\Program Files\\K\\u\x7f.exe\"", "\"C:\\Program Files\\K\\u.exe\" \xff"} {
		if _, err := parseUninstall(in); err == nil || !strings.Contains(err.Error(), "control character") {
			t.Errorf("parseUninstall(%q): %v", in, err)
		}
	}
}
