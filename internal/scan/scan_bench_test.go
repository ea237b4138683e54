package scan

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/host"
)

// writeDpkgRoot writes, under dir, a root whose dpkg status file holds n
// packages in the form scripts/bench-compare.sh gives them (one
// maintainer for all), with Kaspersky's kesl in the middle.
func writeDpkgRoot(b *testing.B, dir string, n int) string {
	b.Helper()
	name := filepath.Join(dir, "var", "lib", "dpkg", "status")
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		pkg, maint, version := fmt.Sprintf("libbench%d", i), "Debian Library Maintainers <debian-lib@lists.debian.org>", fmt.Sprintf("1.%d-1", i)
		if i == n/2 {
			pkg, maint, version = "kesl", "AO Kaspersky Lab <support@kaspersky.com>", "12.1.0-2968"
		}
		fmt.Fprintf(w, "Package: %s\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 120\n"+
			"Maintainer: %s\nArchitecture: all\nVersion: %s\nDescription: synthetic package %d\n\n", pkg, maint, version, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkScanDpkg100k is a whole scan of a root with 100,000 dpkg
// packages, as `make bench-compare` times it, without the process start.
func BenchmarkScanDpkg100k(b *testing.B) {
	root := writeDpkgRoot(b, b.TempDir(), 100_000)
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		b.Fatal(err)
	}
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := Run(context.Background(), Options{Host: h, Catalog: cat, Sources: []string{"dpkg"}})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Products) != 1 || r.Sources[0].Items != 100_000 {
			b.Fatalf("%d products, %d items", len(r.Products), r.Sources[0].Items)
		}
	}
}
