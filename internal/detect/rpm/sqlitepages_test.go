package rpm

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
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

// pageRecords reads the database at path with the page reader.
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
	return drain(t, rpmdb.SQLite(f, st.Size()))
}

// sqlExec runs statements on the database at path through the SQLite
// engine, read-write.
func sqlExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	dsn, err := sqliteDSN(path, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestSQLitePagesMatchEngine reads real rpm databases — written by rpm
// from testdata/*.spec, captured from Fedora and CBL-Mariner, grown by
// SQLite, rewritten by SQLite with the smallest and largest page sizes —
// and databases made by hostile.SQLite, with the page reader and with the
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
			want := drain(t, sqliteBlobs(context.Background(), path, true))
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

// The source reads an ordinary rpm database with the page reader alone:
// the engine is not started.
func TestSQLitePagesWithoutEngine(t *testing.T) {
	f, err := os.Open(specDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	engine := func() (iter.Seq2[rpmdb.Record, error], func(), error) {
		t.Error("the SQLite engine was started")
		return nil, nil, errors.New("no engine")
	}
	if got := drain(t, sqlitePages(f, st.Size(), engine)); len(got) != len(wantSpecs) {
		t.Errorf("%d records, want %d", len(got), len(wantSpecs))
	}
}

// A database the page reader does not handle — here one whose text is
// UTF-16 — is read by the SQLite engine: the source sees all its packages.
func TestSQLitePagesFallBack(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "utf16.sqlite")
	if err := os.WriteFile(p, nil, 0o644); err != nil { // mode=rw opens only a file that exists
		t.Fatal(err)
	}
	stmts := []string{
		"PRAGMA encoding='UTF-16le'",
		"PRAGMA journal_mode=DELETE",
		"CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)",
	}
	for _, rec := range drain(t, sqliteBlobs(context.Background(), specDB(t), true)) {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO Packages (blob) VALUES (x'%x')", rec.blob))
	}
	sqlExec(t, p, stmts...)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range rpmdb.SQLite(f, st.Size()) {
		if !errors.Is(err, rpmdb.ErrUnsupported) {
			t.Errorf("page reader: %v, want ErrUnsupported", err)
		}
		break
	}
	f.Close()
	obs, err := collect(t, newRoot(t, map[string]string{sqlitePath: p}))
	if err != nil || len(obs) != len(wantSpecs) {
		t.Errorf("%d packages, %v; want %d", len(obs), err, len(wantSpecs))
	}
}
