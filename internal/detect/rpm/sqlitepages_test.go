package rpm

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/rpm/internal/rpmdb"
	"github.com/avscout/avscout/internal/hostile"
)

// record is a Record whose blob outlives the loop.
type record struct {
	loc  string
	blob []byte
}

func drain(t *testing.T, seq iter.Seq2[rpmdb.Record, error]) []record {
	t.Helper()
	var out []record
	for rec, err := range seq {
		if err != nil {
			t.Fatalf("%s: %v", rec.Loc, err)
		}
		out = append(out, record{rec.Loc, bytes.Clone(rec.Blob)})
	}
	return out
}

// pageRecords reads the database at path, and its write-ahead log when
// there is one, with the page reader.
func pageRecords(t *testing.T, path string) []record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.Open(path + "-wal")
	if errors.Is(err, os.ErrNotExist) {
		return drain(t, rpmdb.SQLite(f, st.Size()))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wst, err := w.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return drain(t, rpmdb.SQLiteWAL(f, st.Size(), w, wst.Size()))
}

// TestSQLitePagesMatchEngine reads real rpm databases — written by rpm
// from testdata/*.spec, captured from Fedora and CBL-Mariner, grown by
// SQLite, rewritten by SQLite with the smallest and largest page sizes,
// left by a writer with committed transactions in their write-ahead log
// (and one not committed, a log restarted over older frames) — and
// databases made by hostile.SQLite, with the page reader and with the
// SQLite engine: the records (hnum and blob) must be the same, in the
// same order.
func TestSQLitePagesMatchEngine(t *testing.T) {
	dir := t.TempDir()
	grown := filepath.Join(dir, "grown.sqlite")
	copyTo(t, specDB(t), grown)
	grow := []string{"PRAGMA journal_mode=DELETE"}
	for range 6 {
		grow = append(grow, "INSERT INTO Packages (blob) SELECT blob FROM Packages")
	}
	sqlExec(t, grown, grow...)
	dbs := map[string]string{
		"rpm-built":           specDB(t),
		"fedora35":            sample(t, "fedora35/rpmdb.sqlite"),
		"fedora35-plus-mongo": sample(t, "fedora35-plus-mongo/rpmdb.sqlite"),
		"cbl-mariner-2.0":     sample(t, "cbl-mariner-2.0/rpmdb.sqlite"),
		"rpm-built-grown-320": grown,
	}
	for _, size := range []int{512, 65536} {
		p := filepath.Join(dir, fmt.Sprintf("fedora35-%d.sqlite", size))
		copyTo(t, sample(t, "fedora35/rpmdb.sqlite"), p)
		// Deleting rows leaves free pages and holes behind.
		sqlExec(t, p, "PRAGMA journal_mode=DELETE", fmt.Sprintf("PRAGMA page_size=%d", size), "VACUUM",
			"DELETE FROM Packages WHERE hnum % 7 = 3")
		dbs[fmt.Sprintf("fedora35-pages-%d-holes", size)] = p
	}
	// Write-ahead logs, as a writer killed with them (or running) leaves
	// them: the engine replays them into a copy, the page reader reads
	// them beside the file.
	grow3 := []string{
		"INSERT INTO Packages (blob) SELECT blob FROM Packages",
		"INSERT INTO Packages (blob) SELECT blob FROM Packages",
		"INSERT INTO Packages (blob) SELECT blob FROM Packages",
	}
	dbs["wal-rpm-built-grown"] = walFixture(t, specDB(t), filepath.Join(dir, "wal-grown.sqlite"), grow3...)
	dbs["wal-fedora35-changed"] = walFixture(t, sample(t, "fedora35/rpmdb.sqlite"), filepath.Join(dir, "wal-fedora35.sqlite"),
		"DELETE FROM Packages WHERE hnum % 5 = 1",
		"INSERT INTO Packages (blob) SELECT blob FROM Packages WHERE hnum % 3 = 0",
		"UPDATE Packages SET blob = (SELECT blob FROM Packages ORDER BY hnum DESC LIMIT 1) WHERE hnum % 4 = 2",
		"DELETE FROM Packages WHERE hnum % 11 = 0")
	dbs["wal-fedora35-512-holes"] = walFixture(t, dbs["fedora35-pages-512-holes"], filepath.Join(dir, "wal-512.sqlite"),
		"DELETE FROM Packages WHERE hnum % 3 = 1", "INSERT INTO Packages (blob) SELECT blob FROM Packages WHERE hnum < 40")
	dbs["wal-restarted"] = walFixture(t, specDB(t), filepath.Join(dir, "wal-restarted.sqlite"),
		append(grow3, "PRAGMA wal_checkpoint(RESTART)", "DELETE FROM Packages WHERE hnum % 2 = 0")...)
	dbs["wal-uncommitted-tail"] = walFixture(t, sample(t, "fedora35/rpmdb.sqlite"), filepath.Join(dir, "wal-open.sqlite"),
		"DELETE FROM Packages WHERE hnum % 9 = 0",
		"PRAGMA cache_size=2", "BEGIN",
		"INSERT INTO Packages (blob) SELECT blob FROM Packages",
		"DELETE FROM Packages WHERE hnum % 2 = 1")
	blobs := [][]byte{hostile.KESLHeader(), bytes.Repeat([]byte{7}, 5000), {}, bytes.Repeat([]byte{1}, 70000), hostile.KESLHeader()}
	for _, size := range []int{1024, 4096, 65536} {
		p := filepath.Join(dir, fmt.Sprintf("hostile-%d.sqlite", size))
		if err := os.WriteFile(p, hostile.SQLite(size, blobs...), 0o644); err != nil {
			t.Fatal(err)
		}
		dbs[fmt.Sprintf("hostile.SQLite-%d", size)] = p
	}
	for name, path := range dbs {
		t.Run(name, func(t *testing.T) {
			want := engineRecords(t, path)
			got := pageRecords(t, path)
			if len(want) == 0 {
				t.Fatal("the engine read no packages")
			}
			if len(got) != len(want) {
				t.Fatalf("page reader: %d records, engine: %d", len(got), len(want))
			}
			for i := range want {
				if got[i].loc != want[i].loc || !bytes.Equal(got[i].blob, want[i].blob) {
					t.Fatalf("record %d: page reader %s (%d bytes), engine %s (%d bytes)",
						i, got[i].loc, len(got[i].blob), want[i].loc, len(want[i].blob))
				}
			}
		})
	}
}

// A database in a layout rpm never writes — text in UTF-16, a Packages
// table WITHOUT ROWID — is not read: the source fails with an error naming
// the file and saying it is not supported, and the scan goes on.
func TestSQLiteUnsupported(t *testing.T) {
	dir := t.TempDir()
	var inserts []string
	for _, rec := range engineRecords(t, specDB(t)) {
		inserts = append(inserts, fmt.Sprintf("INSERT INTO Packages (blob) VALUES (x'%x')", rec.blob))
	}
	for name, schema := range map[string][]string{
		"utf16":         {"PRAGMA encoding='UTF-16le'", "CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)"},
		"without rowid": {"CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY,blob BLOB NOT NULL) WITHOUT ROWID"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".sqlite")
			if err := os.WriteFile(p, nil, 0o644); err != nil { // mode=rw opens only a file that exists
				t.Fatal(err)
			}
			stmts := append(append([]string{"PRAGMA journal_mode=DELETE"}, schema...), inserts...)
			if name == "without rowid" {
				for i := range inserts {
					stmts[len(schema)+1+i] = strings.Replace(inserts[i], "(blob) VALUES (", fmt.Sprintf("(hnum, blob) VALUES (%d, ", i+1), 1)
				}
			}
			sqlExec(t, p, stmts...)
			if n := len(engineRecords(t, p)); n != len(wantSpecs) {
				t.Fatalf("the engine reads %d packages, want %d: the fixture is wrong", n, len(wantSpecs))
			}
			obs, err := collect(t, newRoot(t, map[string]string{sqlitePath: p}))
			if len(obs) != 0 || err == nil || !errors.Is(err, rpmdb.ErrUnsupported) ||
				!strings.Contains(err.Error(), "unsupported rpm sqlite database") || !strings.Contains(err.Error(), sqlitePath) {
				t.Errorf("%d packages, %v; want none and an error naming %s as unsupported", len(obs), err, sqlitePath)
			}
		})
	}
}
