package catalog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg"
	"github.com/avscout/avscout/internal/host"
)

// statusWithMaintainers writes a dpkg status file of n packages whose
// Maintainer fields take distinct values the way a Debian install's do: a
// few teams maintain most packages, a long tail of people the rest, some
// with names outside ASCII. Record kesl is Kaspersky's.
func statusWithMaintainers(n, distinct int) string {
	maint := make([]string, distinct)
	for i := range maint {
		switch {
		case i%10 == 0:
			maint[i] = fmt.Sprintf("Debian Team%d Maintainers <team%d@lists.debian.org>", i, i)
		case i%7 == 0:
			maint[i] = fmt.Sprintf("Mäintainer Nümber%d <m%d@example.org>", i, i)
		default:
			maint[i] = fmt.Sprintf("Maintainer Number%d <maint%d@example.org>", i, i)
		}
	}
	var b strings.Builder
	for i := range n {
		// about half the packages go to the first 8 maintainers
		m := maint[i%8]
		if i%2 == 1 {
			m = maint[(i/2*7919)%distinct]
		}
		name := fmt.Sprintf("libbench%d", i)
		if i == n/2 {
			name, m = "kesl", "AO Kaspersky Lab <support@kaspersky.com>"
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nPriority: optional\nSection: libs\n"+
			"Installed-Size: 120\nMaintainer: %s\nArchitecture: amd64\nVersion: 1.%d-1\n"+
			"Description: synthetic package %d\n\n", name, m, i, i)
	}
	return b.String()
}

// BenchmarkRelevantDpkg measures the runner's filter over the observations
// the dpkg source makes of a status file of 100,000 packages with 300
// maintainers.
func BenchmarkRelevantDpkg(b *testing.B) {
	c, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	m := c.Matcher("linux")
	fsys := fstest.MapFS{dpkg.StatusPath: {Data: []byte(statusWithMaintainers(100_000, 300))}}
	var obs []detect.Observation
	err = dpkg.Source{}.Collect(context.Background(), &host.Host{OS: host.Linux, FS: fsys}, func(o detect.Observation) {
		obs = append(obs, o)
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		kept := 0
		for i := range obs {
			if m.Relevant(obs[i]) {
				kept++
			}
		}
		if kept != 1 {
			b.Fatalf("kept %d, want 1", kept)
		}
	}
}
