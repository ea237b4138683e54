package rpm

// The SQLite engine, which the source no longer uses, kept for the tests:
// it writes the fixtures (write-ahead logs among them) and reads every
// database the page reader reads, so that the two can be compared.

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/avscout/avscout/internal/detect/rpm/internal/rpmdb"
)

// sqliteDSN is the driver name for the database file at path.
//
// With readOnly, SQLite opens the file read-only ("mode=ro") and as
// immutable ("immutable=1"): it takes no locks and neither reads nor creates
// the -wal and -shm files beside it, so the host's database is never
// touched. Such a read sees only what has been checkpointed into the main
// file; the caller reads a copy when the WAL holds more.
//
// Without readOnly (used only on a private copy), SQLite may write the
// -shm file and replay the -wal file beside it.
//
// The name must be a "file:" URI: the driver ignores the query of a plain
// path and would open it read-write.
func sqliteDSN(path string, readOnly bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") { // C:/… on Windows
		p = "/" + p
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: "mode=rw"}
	if readOnly {
		u.RawQuery = "mode=ro&immutable=1"
	}
	return u.String(), nil
}

// sqliteBlobs yields the header blob of every package in the SQLite rpm
// database at path, in installation order. See [sqliteDSN] for readOnly.
func sqliteBlobs(ctx context.Context, path string, readOnly bool) iter.Seq2[rpmdb.Record, error] {
	return func(yield func(rpmdb.Record, error) bool) {
		dsn, err := sqliteDSN(path, readOnly)
		if err != nil {
			yield(rpmdb.Record{}, err)
			return
		}
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			yield(rpmdb.Record{}, fmt.Errorf("sqlite: %w", err))
			return
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		// A blob over the limit is not fetched at all: its length says so.
		rows, err := db.QueryContext(ctx, "SELECT hnum, CASE WHEN length(blob) <= ? THEN blob END, length(blob) FROM Packages ORDER BY hnum", rpmdb.MaxBlob)
		if err != nil {
			yield(rpmdb.Record{}, fmt.Errorf("sqlite: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var hnum, size int64
			var blob sql.RawBytes
			if err := rows.Scan(&hnum, &blob, &size); err != nil {
				if !yield(rpmdb.Record{}, fmt.Errorf("sqlite row: %w", err)) {
					return
				}
				continue
			}
			if size > rpmdb.MaxBlob {
				loc := "sqlite package " + strconv.FormatInt(hnum, 10)
				if !yield(rpmdb.Record{Loc: loc}, fmt.Errorf("%s: header of %d bytes: %w", loc, size, rpmdb.ErrTooLarge)) {
					return
				}
				continue
			}
			// RawBytes stay valid until the next call to Next, and the
			// consumer parses each blob before asking for another.
			if !yield(rpmdb.Record{Blob: blob, Loc: "sqlite package " + strconv.FormatInt(hnum, 10)}, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(rpmdb.Record{}, fmt.Errorf("sqlite: %w", err))
		}
	}
}

// walFixture copies the SQLite database src to dst, then, through the
// engine, switches it to write-ahead logging with automatic checkpoints
// off and runs stmts on it; before the writer closes (which would
// checkpoint the log into the file), it copies the database and its log
// to out and out+"-wal": the files a writer leaves when it is killed or
// while it runs. It returns out.
func walFixture(t testing.TB, src, out string, stmts ...string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "writer.sqlite")
	copyTo(t, src, work)
	dsn, err := sqliteDSN(work, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode=WAL").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v", mode, err)
	}
	if _, err := db.Exec("PRAGMA wal_autocheckpoint=0"); err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if st, err := os.Stat(work + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("the writer left no write-ahead log: %v", err)
	}
	copyTo(t, work, out)
	copyTo(t, work+"-wal", out+"-wal")
	return out
}

// engineRecords reads the database at path, with its write-ahead log when
// there is one, through the SQLite engine, from a private copy (the engine
// writes beside a database it replays a log into).
func engineRecords(t *testing.T, path string) []record {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "engine.sqlite")
	copyTo(t, path, cp)
	if _, err := os.Stat(path + "-wal"); err == nil {
		copyTo(t, path+"-wal", cp+"-wal")
	}
	return drain(t, sqliteBlobs(context.Background(), cp, false))
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
