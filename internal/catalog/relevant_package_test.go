package catalog

import (
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
)

// packageCases returns names and maintainers to look packages up by:
// every package name, publisher, signer and e-mail domain of the catalog
// in several cases, globs' literal parts, and names that are none of them.
func packageCases(c *Catalog) (names, maintainers []string) {
	names = []string{"", "bash", "libc6", "KESL", "kesl ", "Kesl", "klnagent64", "ÄÖÜ", "kesl\u212a", "com.kaspersky.x",
		strings.Repeat("a", 40), strings.Repeat("K", 70)}
	maintainers = []string{"", "Debian Library Maintainers <debian-lib@lists.debian.org>", "x <support@kaspersky.com>",
		"AO Kaspersky Lab <support@kaspersky.com>", "Mäintainer <m@example.org>"}
	add := func(list *[]string, s string) {
		*list = append(*list, s, strings.ToUpper(s), strings.ReplaceAll(s, "*", "x"))
	}
	for _, v := range c.Vendors {
		for _, s := range v.Publishers {
			add(&maintainers, s)
		}
		for _, s := range v.Signers {
			add(&maintainers, s)
		}
		for _, d := range v.EmailDomains {
			add(&maintainers, "Someone <a@"+d+">")
			add(&maintainers, "Someone <a@sub."+d+">")
		}
		for _, fp := range v.Technology {
			for _, s := range fp.Packages {
				add(&names, s)
			}
		}
	}
	for _, p := range c.Products {
		for _, fp := range p.Fingerprints {
			for _, s := range fp.Packages {
				add(&names, s)
			}
		}
	}
	return names, maintainers
}

// A PackageFilter answers as Relevant does for the observation a package
// database's source makes, on every OS's matcher, whatever the order of
// the records.
func TestRelevantPackageMatchesRelevant(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	names, maintainers := packageCases(c)
	kept := 0
	for _, os := range []string{"linux", "windows", "darwin"} {
		m := c.Matcher(os)
		f := m.PackageFilter()
		for _, n := range names {
			for _, mt := range maintainers {
				if checkRelevantPackage(t, m, f, n, mt) {
					kept++
				}
			}
		}
		for _, mt := range maintainers { // the maintainer changes at every record
			for _, n := range names {
				checkRelevantPackage(t, m, f, n, mt)
			}
		}
	}
	if kept == 0 {
		t.Error("no case was relevant: the test checks nothing")
	}
}

func checkRelevantPackage(t *testing.T, m *Matcher, f *PackageFilter, name, maintainer string) bool {
	t.Helper()
	o := detect.Observation{Kind: detect.KindPackage, Status: detect.Installed, Name: name, Version: "1.0-1",
		Vendor: maintainer, Location: "var/lib/dpkg/status", Detail: name + " 1.0-1 (install ok installed)"}
	want := m.Relevant(o)
	if got := f.RelevantPackage([]byte(name), maintainer); got != want {
		t.Errorf("RelevantPackage(%q, %q) = %v, Relevant = %v", name, maintainer, got, want)
	}
	return want
}

func FuzzRelevantPackage(f *testing.F) {
	c, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	names, maintainers := packageCases(c)
	for i, n := range names {
		f.Add(n, maintainers[i%len(maintainers)])
	}
	m := c.Matcher("linux")
	pf := m.PackageFilter()
	f.Fuzz(func(t *testing.T, name, maintainer string) {
		checkRelevantPackage(t, m, pf, name, maintainer)
		checkRelevantPackage(t, m, pf, name, maintainer) // remembered
	})
}

// A PackageFilter costs no allocation for a name the matcher does not
// know, with a maintainer it remembers or not.
func TestRelevantPackageAllocs(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	f := c.Matcher("linux").PackageFilter()
	name, maint, other := []byte("libbench12345"), "Debian Library Maintainers <debian-lib@lists.debian.org>", "Other <o@example.org>"
	f.RelevantPackage(name, maint) // the matcher remembers each maintainer it looked up
	f.RelevantPackage(name, other)
	if n := testing.AllocsPerRun(100, func() { f.RelevantPackage(name, maint) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { f.RelevantPackage(name, maint); f.RelevantPackage(name, other) }); n != 0 {
		t.Errorf("%v allocations per call, maintainers alternating", n)
	}
}
