package catalog

import (
	"bytes"
	"os"
	"testing"
)

// The built-in catalog from its generated Go data (what start-up pays)…
func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

// …and from catalog.yaml, as every run paid before catalog_gen.go.
func BenchmarkParseCatalogYAML(b *testing.B) {
	y, err := os.ReadFile("catalog.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(y)); err != nil {
			b.Fatal(err)
		}
	}
}
