package catalog

import (
	"strings"
	"testing"
	"unicode"
)

// normOrgRef is normOrg as it was before its ASCII fast path: the
// reference the fast one must agree with.
func normOrgRef(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(`"«»„“”`, r) }) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for _, r := range f {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

var normOrgCases = []string{
	"",
	" ",
	"<>",
	"AO Kaspersky Lab <support@kaspersky.com>",
	"  Debian   Library\tMaintainers\r\n <debian-lib@lists.debian.org>",
	"kaspersky lab",
	"KASPERSKY LAB ZAO",
	"Name\vwith\fodd spaces",
	"Jörg Frings-Fürst <debian@jff.email>",
	"ChangZhuo Chen (陳昌倬) <czchen@debian.org>",
	"ÅNGSTRÖM\u00a0AB",          // no-break space is a space to unicode.IsSpace
	"Next\u0085Line",            // so is NEL
	"İstanbul Kelvin\u212a Lab", // ToLower of İ and the Kelvin sign
	"bad \xff utf-8 \xc3",
	"@[]^_`{|}~ 0123456789 AZaz",
	"no email < but a bracket",
	"Trailing space   ",
	`АО "Лаборатория Касперского"`,
	"АО «Лаборатория Касперского»",
	`"Quoted"Name`,
	"„German“ “English” O'Neil",
}

func TestNormOrgMatchesReference(t *testing.T) {
	for _, s := range normOrgCases {
		if got, want := normOrg(s), normOrgRef(s); got != want {
			t.Errorf("normOrg(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzNormOrg(f *testing.F) {
	for _, s := range normOrgCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := normOrg(s), normOrgRef(s); got != want {
			t.Errorf("normOrg(%q) = %q, want %q", s, got, want)
		}
	})
}
