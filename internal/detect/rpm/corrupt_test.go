package rpm

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
)

// TestCorruptFiles feeds the source truncated, garbage and partly
// overwritten copies of a real database of each format. It must never
// panic (the recover in read would turn a panic into an error saying
// "panic"), must name the file in its error, and must report a truncated
// file as an error rather than quietly return fewer packages.
func TestCorruptFiles(t *testing.T) {
	formats := []struct{ name, at, src string }{
		{"sqlite", sqlitePath, specDB(t)},
		{"ndb", "usr/lib/sysimage/rpm/Packages.db", sample(t, "sle15-bci/Packages.db")},
		{"bdb", "var/lib/rpm/Packages", sample(t, "centos5-plain/Packages")},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			orig, err := os.ReadFile(f.src)
			if err != nil {
				t.Fatal(err)
			}
			full, err := collect(t, newRoot(t, map[string]string{f.at: f.src}))
			if err != nil || len(full) == 0 {
				t.Fatalf("the intact file: %d packages, %v", len(full), err)
			}
			known := map[string]bool{}
			for _, o := range full {
				known[o.Detail] = true
			}

			type variant struct {
				name      string
				data      []byte
				wantError bool
			}
			var variants []variant
			n := len(orig)
			for _, size := range []int{0, 1, 15, 16, 17, 31, 32, 33, 64, 100, 511, 512, 513, 4095, 4096, 4097, 8192, 65536, n / 4, n / 2, n - 4096, n - 16, n - 1} {
				if size >= 0 && size < n {
					variants = append(variants, variant{fmt.Sprintf("truncated to %d", size), orig[:size], true})
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			random := func(k int) []byte {
				b := make([]byte, k)
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				return b
			}
			variants = append(variants,
				variant{"random bytes", random(1 << 16), true},
				variant{"magic then random bytes", append(append([]byte(nil), orig[:100]...), random(min(n, 1<<20)-100)...), true},
			)
			for i := range 30 {
				b := append([]byte(nil), orig...)
				for range 1 + i%5 {
					chunk := random(1 + rng.IntN(600))
					copy(b[rng.IntN(n):], chunk)
				}
				variants = append(variants, variant{fmt.Sprintf("overwritten %d", i), b, false})
			}

			for _, v := range variants {
				root := t.TempDir()
				p := filepath.Join(root, filepath.FromSlash(f.at))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, v.data, 0o644); err != nil {
					t.Fatal(err)
				}
				obs, err := collect(t, root)
				switch {
				case err == nil && v.wantError:
					t.Errorf("%s: no error (%d of %d packages)", v.name, len(obs), len(full))
				case err != nil && errors.Is(err, detect.ErrUnavailable):
					t.Errorf("%s: %v: a damaged database is not a missing one", v.name, err)
				case err != nil && strings.Contains(err.Error(), "panic"):
					t.Errorf("%s: %v", v.name, err)
				case err != nil && !strings.Contains(err.Error(), f.at):
					t.Errorf("%s: error %q does not name %s", v.name, err, f.at)
				}
				for _, o := range obs {
					if o.Name == "" {
						t.Errorf("%s: observation without a name: %+v", v.name, o)
					}
					if strings.HasPrefix(v.name, "truncated") && !known[o.Detail] {
						t.Errorf("%s: invented package %q", v.name, o.Detail)
					}
				}
				if testing.Verbose() {
					t.Logf("%s: %d packages, %v", v.name, len(obs), err)
				}
			}
		})
	}
}
