package catalog

import (
	"fmt"
	"testing"

	"github.com/avscout/avscout/internal/detect"
)

// BenchmarkRelevant100k measures the runner's filter over a package
// database of 100,000 entries with the built-in catalog.
func BenchmarkRelevant100k(b *testing.B) {
	c, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	m := c.Matcher("linux")
	obs := make([]detect.Observation, 100_000)
	for i := range obs {
		obs[i] = detect.Observation{Kind: detect.KindPackage, Name: fmt.Sprintf("libfoo%d", i), Version: "1.0-1",
			Vendor: "Debian Library Maintainers <debian-lib@lists.debian.org>", Status: detect.Installed}
	}
	obs[500].Name = "kesl"
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
