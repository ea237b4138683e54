package rpm

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"iter"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	// The pure-Go SQLite driver, registered as "sqlite". Imported here, not
	// in a main package, so that every binary using this source can read
	// sqlite rpm databases (Fedora ≥ 33, RHEL 9) without cgo. Other
	// packages needing SQLite should use this driver too: a second one
	// registered under the same name panics at start-up.
	_ "modernc.org/sqlite"

	"github.com/avscout/avscout/internal/detect/rpm/internal/rpmdb"
)

var sqliteMagic = []byte("SQLite format 3\x00")

// isSQLite reports whether head, the start of a file, is an SQLite database.
func isSQLite(head []byte) bool { return bytes.HasPrefix(head, sqliteMagic) }

// sqliteHeaderSize is the size of the database header on page 1.
const sqliteHeaderSize = 100

// checkSQLiteSize reports a database file shorter than its header says, a
// truncation SQLite itself does not notice when the lost pages were free.
// head is the start of the file and size its length.
func checkSQLiteSize(head []byte, size int64) error {
	if len(head) < sqliteHeaderSize {
		return fmt.Errorf("sqlite database truncated: %d bytes, the header alone has %d", len(head), sqliteHeaderSize)
	}
	be := binary.BigEndian
	pageSize := int64(be.Uint16(head[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(be.Uint32(head[28:32]))
	// The page count is trustworthy only when the "version-valid-for"
	// number matches the change counter (SQLite ≥ 3.7.0 keeps them equal).
	if pages == 0 || be.Uint32(head[92:96]) != be.Uint32(head[24:28]) {
		return nil
	}
	if want := pages * pageSize; size < want {
		return fmt.Errorf("sqlite database truncated: its header says %d pages of %d bytes (%d bytes), the file has %d", pages, pageSize, want, size)
	}
	return nil
}

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
