package catalog

import (
	"fmt"
	"sync"
	"testing"
)

// The organisation memo gives the answers the lookup gives, under
// concurrent use, and stops growing at its bound.
func TestOrganisationMemo(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ids := c.Matcher("linux").ids
	orgs := []string{
		"AO Kaspersky Lab <support@kaspersky.com>",
		"kaspersky lab",
		"Someone <someone@KASPERSKY.com>",
		"Debian Library Maintainers <debian-lib@lists.debian.org>",
		"Jörg Frings-Fürst <debian@jff.email>",
	}
	for i := range 2 * orgMemoMax {
		orgs = append(orgs, fmt.Sprintf("Maintainer %d <m%d@example.org>", i, i))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2 {
				for _, s := range orgs {
					if got, want := ids.organisation(s), ids.lookupOrganisation(s); got != want {
						t.Errorf("organisation(%q) = %v, want %v", s, got, want)
					}
				}
			}
		})
	}
	wg.Wait()
	if ids.organisation(orgs[0]) == nil {
		t.Errorf("organisation(%q) = nil, want Kaspersky", orgs[0])
	}
	n := 0
	ids.orgs.m.Range(func(any, any) bool { n++; return true })
	if n > orgMemoMax {
		t.Errorf("memo holds %d organisations, want at most %d", n, orgMemoMax)
	}
}
