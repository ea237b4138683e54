package rpm

import (
	"context"
	"database/sql"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/rpm/internal/rpmdb"
	"github.com/avscout/avscout/internal/host"
)

// BenchmarkCollect scans whole roots, as a scan does: finding the
// database, opening it, parsing every header and emitting observations.
func BenchmarkCollect(b *testing.B) {
	cases := []struct {
		name  string
		files func(b *testing.B) map[string]string
		want  int
	}{
		{"sqlite-rpm-built-5", func(b *testing.B) map[string]string {
			return map[string]string{sqlitePath: specDB(b)}
		}, 5},
		{"sqlite-rpm-built-10240", func(b *testing.B) map[string]string {
			return map[string]string{sqlitePath: grownDB(b, 11)}
		}, 5 << 11},
		{"sqlite-fedora35-138", func(b *testing.B) map[string]string {
			return map[string]string{sqlitePath: sample(b, "fedora35/rpmdb.sqlite")}
		}, 138},
		{"bdb-centos7-plain-144", func(b *testing.B) map[string]string {
			return map[string]string{"var/lib/rpm/Packages": sample(b, "centos7-plain/Packages")}
		}, 144},
		{"bdb-centos8-518", func(b *testing.B) map[string]string {
			return map[string]string{"var/lib/rpm/Packages": sample(b, "centos8-modularitylabel/Packages")}
		}, 518},
		{"ndb-sle15-35", func(b *testing.B) map[string]string {
			return map[string]string{"usr/lib/sysimage/rpm/Packages.db": sample(b, "sle15-bci/Packages.db")}
		}, 35},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			h, err := host.OpenRoot(newRoot(b, tc.files(b)), host.Linux)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				if err := (Source{}).Collect(ctx, h, func(detect.Observation) { n++ }); err != nil || n != tc.want {
					b.Fatalf("%d packages, %v; want %d", n, err, tc.want)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tc.want), "ns/pkg")
		})
	}
}

// grownDB returns a copy of the rpm-built database whose packages were
// duplicated doublings times: 5·2^doublings real rpm headers.
func grownDB(b *testing.B, doublings int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "rpmdb.sqlite")
	copyTo(b, specDB(b), path)
	dsn, err := sqliteDSN(path, false)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for range doublings {
		if _, err := db.Exec("INSERT INTO Packages (blob) SELECT blob FROM Packages"); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkSQLiteReaders reads the same sqlite databases with the page
// reader (what the source uses) and with the SQLite engine (what it used),
// parsing every header: the open and the reading, without the source's
// search for the file.
func BenchmarkSQLiteReaders(b *testing.B) {
	dbs := []struct {
		name string
		path func(b *testing.B) string
		want int
	}{
		{"rpm-built-5", func(b *testing.B) string { return specDB(b) }, 5},
		{"fedora35-138", func(b *testing.B) string { return sample(b, "fedora35/rpmdb.sqlite") }, 138},
		{"rpm-built-10240", func(b *testing.B) string { return grownDB(b, 11) }, 5 << 11},
	}
	// A root made by scripts/rpm-bench-root.sh, for instance:
	// AVSCOUT_BENCH_RPMDB=$ROOT/var/lib/rpm/rpmdb.sqlite:401
	if env := os.Getenv("AVSCOUT_BENCH_RPMDB"); env != "" {
		path, count, _ := strings.Cut(env, ":")
		n, err := strconv.Atoi(count)
		if err != nil {
			b.Fatalf("AVSCOUT_BENCH_RPMDB=%s: want PATH:PACKAGES", env)
		}
		dbs = append(dbs, struct {
			name string
			path func(b *testing.B) string
			want int
		}{"env-" + count, func(*testing.B) string { return path }, n})
	}
	readers := []struct {
		name string
		read func(ctx context.Context, path string) iter.Seq2[rpmdb.Record, error]
	}{
		{"pages", func(_ context.Context, path string) iter.Seq2[rpmdb.Record, error] {
			return func(yield func(rpmdb.Record, error) bool) {
				f, err := os.Open(path)
				if err != nil {
					yield(rpmdb.Record{}, err)
					return
				}
				defer f.Close()
				st, err := f.Stat()
				if err != nil {
					yield(rpmdb.Record{}, err)
					return
				}
				for rec, err := range rpmdb.SQLite(f, st.Size()) {
					if !yield(rec, err) {
						return
					}
				}
			}
		}},
		{"engine", func(ctx context.Context, path string) iter.Seq2[rpmdb.Record, error] {
			return sqliteBlobs(ctx, path, true)
		}},
	}
	for _, db := range dbs {
		path := db.path(b)
		for _, r := range readers {
			b.Run(db.name+"/"+r.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					n := 0
					for rec, err := range r.read(ctx, path) {
						if err == nil {
							_, err = rpmdb.ParseHeader(rec.Blob)
						}
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n != db.want {
						b.Fatalf("%d packages, want %d", n, db.want)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(db.want), "ns/pkg")
			})
		}
	}
}
