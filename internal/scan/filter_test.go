package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg"
	"github.com/avscout/avscout/internal/host"
)

// The dpkg source drops the packages the matcher cannot find relevant
// before it builds them, yet the report counts every package it saw, as
// the unfiltered source emits them, and finds what it found.
func TestDpkgFilterKeepsItemsAndFindings(t *testing.T) {
	status := "Package: bash\nStatus: install ok installed\nMaintainer: Matthias Klose <doko@debian.org>\nVersion: 5.2\n\n" +
		"Package: kesl\nStatus: install ok installed\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\nVersion: 12.1.0-2968\n\n" +
		"Package: gone\nStatus: purge ok not-installed\n\n" +
		"Package: odd\nStatus: install ok weird\nMaintainer: Nobody <n@example.org>\n\n" +
		"Package: byvendor\nStatus: deinstall ok config-files\nMaintainer: Someone <a@kaspersky.com>\nVersion: 1\n\n" +
		"Package: libx\nMaintainer: X <x@example.org>\n"
	root := t.TempDir()
	name := filepath.Join(root, filepath.FromSlash(dpkg.StatusPath))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	all := 0
	if err := (dpkg.Source{}).Collect(context.Background(), h, func(detect.Observation) { all++ }); err == nil {
		t.Fatal("no error for the unknown Status")
	}
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), Options{Host: h, Catalog: cat, Sources: []string{"dpkg"}, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Sources[0].Items; got != all || all != 5 {
		t.Errorf("items %d, the source emits %d (want 5)", got, all)
	}
	evidence := 0
	for _, p := range r.Products {
		evidence += len(p.Evidence)
	}
	if len(r.Products) == 0 || evidence != 2 {
		t.Errorf("%d products with %d pieces of evidence, want kesl and byvendor: %+v", len(r.Products), evidence, r.Products)
	}
}
