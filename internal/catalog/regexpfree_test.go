package catalog

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The regular expressions that dnValues and slug replace (so that no
// process compiles them at start-up); both must answer as they did.
var (
	oldDNAttr  = regexp.MustCompile(`(?i)(?:^|,)\s*(CN|O)\s*=\s*("[^"]*"|[^,]*)`)
	oldNonSlug = regexp.MustCompile(`[^a-z0-9]+`)
)

func oldDNValues(s string) []string {
	var vals []string
	for _, m := range oldDNAttr.FindAllStringSubmatch(s, -1) {
		vals = append(vals, m[2])
	}
	return vals
}

func oldSlug(s string) string {
	return strings.Trim(oldNonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

var regexpFreeCases = []string{
	"", "=", ",", ",,", "CN=", "CN", "O", "o=x", "cn=x", "Cn = x ,o= y",
	`CN="AO Kaspersky Lab", O=AO Kaspersky Lab, L=Moscow, C=RU`,
	`CN="a,b",O=x`, `CN="a"junk,O=x`, `CN="unterminated, O=x`, `CN=""`,
	`,CN=lead`, `, CN=lead`, `,,CN=x`, `L=Moscow,CN=Kaspersky`, `OU=Unit,O=Org`,
	`CNX=no,O=yes`, `XCN=no`, `O = spaced = twice`, "CN=\ttab\n,O=\r\fx",
	"CN=caf\u00e9,O=\xff\xfe", `E=a@b,CN=x,,O=`, `CN=x,`, "\u212a=no,CN=k",
	"Kaspersky Total Security 21.3!", "--a--b--", "ÄÖÜ Kaspersky", "a\xffb", "  ", "KES 12.1 (x64)",
}

func TestDNValuesMatchesRegexp(t *testing.T) {
	for _, s := range regexpFreeCases {
		if got, want := dnValues(s), oldDNValues(s); !slices.Equal(got, want) {
			t.Errorf("dnValues(%q) = %q, the regexp found %q", s, got, want)
		}
	}
}

func TestSlugMatchesRegexp(t *testing.T) {
	for _, s := range regexpFreeCases {
		if got, want := slug(s), oldSlug(s); got != want {
			t.Errorf("slug(%q) = %q, the regexp gave %q", s, got, want)
		}
	}
}

func FuzzDNValuesAndSlug(f *testing.F) {
	for _, s := range regexpFreeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := dnValues(s), oldDNValues(s); !slices.Equal(got, want) {
			t.Errorf("dnValues(%q) = %q, the regexp found %q", s, got, want)
		}
		if got, want := slug(s), oldSlug(s); got != want {
			t.Errorf("slug(%q) = %q, the regexp gave %q", s, got, want)
		}
	})
}
