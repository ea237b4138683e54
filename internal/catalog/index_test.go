package catalog

import (
	"path"
	"strings"
	"testing"
)

// splitHead is how lookupBeneath cut a value before it avoided the
// allocations: the first slashes+1 components, joined, without a last '/'.
func splitHead(v string, slashes int) (string, bool) {
	parts := strings.SplitAfterN(v, "/", slashes+2)
	if len(parts) < slashes+1 {
		return "", false
	}
	return strings.TrimSuffix(strings.Join(parts[:slashes+1], ""), "/"), true
}

func TestLeadingComponents(t *testing.T) {
	tests := []struct {
		v       string
		slashes int
		want    string
		ok      bool
	}{
		{"/opt/kaspersky/kesl/bin/kesl", 2, "/opt/kaspersky", true},
		{"/opt/kaspersky", 2, "/opt/kaspersky", true},
		{"/opt/kaspersky/", 2, "/opt/kaspersky", true},
		{"/opt", 2, "", false},
		{"c:/program files (x86)/kaspersky lab/kes.12.1/avp.exe", 2, "c:/program files (x86)/kaspersky lab", true},
		{"software/kasperskylab", 0, "software", true},
		{"", 0, "", true},
		{"a//b", 1, "a/", true},
	}
	for _, tt := range tests {
		got, ok := leadingComponents(tt.v, tt.slashes)
		if got != tt.want || ok != tt.ok {
			t.Errorf("leadingComponents(%q, %d) = %q, %v; want %q, %v", tt.v, tt.slashes, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzLeadingComponents(f *testing.F) {
	f.Add("/opt/kaspersky/kesl", 2)
	f.Add("a//b/", 1)
	f.Add("", 3)
	f.Fuzz(func(t *testing.T, v string, slashes int) {
		if slashes < 0 || slashes > 64 {
			return
		}
		got, ok := leadingComponents(v, slashes)
		want, wantOK := splitHead(v, slashes)
		if got != want || ok != wantOK {
			t.Fatalf("leadingComponents(%q, %d) = %q, %v; the split gives %q, %v", v, slashes, got, ok, want, wantOK)
		}
	})
}

// A glob matches a value only when the value starts with the glob's part
// before its first wildcard: the quick test lookupBeneath makes first
// must never turn away what path.Match accepts.
func FuzzGlobLiteralPrefix(f *testing.F) {
	f.Add("/opt/kasp*", "/opt/kaspersky")
	f.Add(`/opt/\*x`, "/opt/*x")
	f.Add("c:/program files*/kaspersky lab", "c:/program files (x86)/kaspersky lab")
	f.Fuzz(func(t *testing.T, pattern, v string) {
		if ok, err := path.Match(pattern, v); err == nil && ok && !strings.HasPrefix(v, newOwnedGlob(pattern, 0).literal) {
			t.Fatalf("%q matches %q, which does not start with %q", pattern, v, newOwnedGlob(pattern, 0).literal)
		}
	})
}
