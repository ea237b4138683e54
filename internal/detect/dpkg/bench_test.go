package dpkg

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg/internal/synth"
	"github.com/avscout/avscout/internal/host"
)

// writeSynthetic writes a 100,000-record status file (about 62 MB) under
// dir, as root/var/lib/dpkg/status, and returns the root.
func writeSynthetic(b *testing.B, dir string) string {
	b.Helper()
	name := filepath.Join(dir, filepath.FromSlash(StatusPath))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := synth.WriteStatus(f, 100_000); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkParseStatus100k parses a 100,000-record file from disk.
// Target: under 200 ms per op; memory stays flat (streaming).
func BenchmarkParseStatus100k(b *testing.B) {
	root := writeSynthetic(b, b.TempDir())
	name := filepath.Join(root, filepath.FromSlash(StatusPath))
	st, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for b.Loop() {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := ParseStatus(f, func(Package) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		f.Close()
		if n != 100_000 {
			b.Fatalf("%d records", n)
		}
	}
}

// BenchmarkCollect100k runs the whole source over the same file, with a
// Keep-like filter that retains only Kaspersky records, as the runner does.
func BenchmarkCollect100k(b *testing.B) {
	root := writeSynthetic(b, b.TempDir())
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for b.Loop() {
		var kept []detect.Observation
		n := 0
		err := Source{}.Collect(context.Background(), h, func(o detect.Observation) {
			n++
			if o.Name == "kesl" {
				kept = append(kept, o)
			}
		})
		if err != nil || n != 100_000 || len(kept) != 1 {
			b.Fatalf("%d observations, %d kept, %v", n, len(kept), err)
		}
	}
}

// keslOnly is a Filter that keeps Kaspersky's kesl alone. It holds no
// state: a fork is itself.
type keslOnly struct{}

func (keslOnly) RelevantPackage(name []byte, _ string) bool { return string(name) == "kesl" }

func (k keslOnly) Fork() Filter { return k }

func (keslOnly) Join(Filter) {}

// BenchmarkCollectFiltered100k is BenchmarkCollect100k with a filter
// that keeps kesl alone, as a scan's does: the parser's own cost, the
// file parsed in two parts at once.
func BenchmarkCollectFiltered100k(b *testing.B) { benchmarkFiltered(b, 0) }

// BenchmarkCollectFiltered100kWhole is BenchmarkCollectFiltered100k with
// the file parsed whole.
func BenchmarkCollectFiltered100kWhole(b *testing.B) { benchmarkFiltered(b, 1<<62) }

func benchmarkFiltered(b *testing.B, splitMin int64) {
	root := writeSynthetic(b, b.TempDir())
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for b.Loop() {
		n := 0
		err := Source{Filter: keslOnly{}, splitMin: splitMin}.Collect(context.Background(), h, func(o detect.Observation) { n++ })
		if err != nil || n != 1 {
			b.Fatalf("%d observations, %v", n, err)
		}
	}
}
