package pe

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/avscout/avscout/internal/detect/pe/petest"
)

// BenchmarkSigned10MB parses the version resource and checks the signature
// of a 10 MiB signed image: the cost per executable of the pe enricher is
// dominated by hashing the file.
func BenchmarkSigned10MB(b *testing.B) {
	text := make([]byte, 10<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range text {
		text[i] = byte(rng.Uint32())
	}
	s := newSigner(b, b.TempDir(), "kaspersky", kasperskyRDNs(), "rsa")
	signed := petest.SignWith(b, buildPE(b, text, kesVersion(), false), s, "sha256", false)
	path := filepath.Join(b.TempDir(), "avp.exe")
	write(b, path, signed)

	run := func(b *testing.B, open func() (readerAt, func())) {
		b.SetBytes(int64(len(signed)))
		b.ReportAllocs()
		for b.Loop() {
			r, done := open()
			img, err := Open(r, int64(len(signed)))
			if err != nil {
				b.Fatal(err)
			}
			if vi, err := img.VersionInfo(); err != nil || vi.CompanyName == "" {
				b.Fatal(err)
			}
			sigs, err := img.Signatures(context.Background())
			if err != nil || len(sigs) != 1 || !sigs[0].Valid() {
				b.Fatal(err, sigs)
			}
			done()
		}
	}
	b.Run("memory", func(b *testing.B) {
		run(b, func() (readerAt, func()) { return bytes.NewReader(signed), func() {} })
	})
	b.Run("file", func(b *testing.B) {
		run(b, func() (readerAt, func()) {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			return f, func() { f.Close() }
		})
	})
}

// BenchmarkVersionInfo measures reading only the headers and the version
// resource, what an unsigned file costs.
func BenchmarkVersionInfo(b *testing.B) {
	img := buildPE(b, bytes.Repeat([]byte{0xcc}, 1<<20), kesVersion(), false)
	b.ReportAllocs()
	for b.Loop() {
		im, err := Open(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := im.VersionInfo(); err != nil {
			b.Fatal(err)
		}
	}
}

type readerAt interface {
	ReadAt(p []byte, off int64) (int, error)
}
