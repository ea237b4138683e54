// Package rpm is the source that reads the rpm package database, where Red
// Hat Enterprise Linux, CentOS, Rocky, Alma, Fedora, SUSE and their
// relatives record what is installed. Kaspersky ships its Linux products as
// rpm packages (kesl, klnagent64, kesl-gui), and so do most endpoint
// vendors: the database says which of them are installed, at what version,
// and which vendor and packager built them.
//
// The source reads the three formats rpm has used, in pure Go so the agent
// needs neither cgo nor the rpm tools (a scanned image or container root
// has no working rpm):
//
//   - sqlite: rpmdb.sqlite (rpm ≥ 4.16: Fedora ≥ 33, RHEL 9 and its rebuilds);
//   - ndb: Packages.db (SUSE Linux Enterprise 15 and openSUSE with rpm-ndb);
//   - Berkeley DB: Packages (RHEL and CentOS up to 8, older SUSE).
//
// It looks in usr/lib/sysimage/rpm and var/lib/rpm and reads only the
// newest format present, the one rpm itself uses.
//
// Reading is strictly read-only: the scanned system may be a live machine
// in the middle of a dnf transaction, or a disk image kept as evidence.
// The source never writes, creates files beside the database, or takes or
// waits for a lock, so it can neither corrupt nor stall rpm. All three
// formats are read by parsers of our own (package internal/rpmdb), because
// go-rpmdb v0.1.1, which the tests use only for its sample databases, opens
// sqlite read-write, flocks ndb files, prints to stdout and parses in
// goroutines a recover cannot guard. For sqlite that is a read-only page
// reader that walks the Packages table's b-tree: it starts in microseconds
// where the SQLite engine took tens of milliseconds, and holds a few pages
// rather than the engine's cache. The SQLite engine (modernc.org/sqlite,
// opening the file read-only and immutable) remains for what the page
// reader leaves to it: a database whose write-ahead log has frames not yet
// copied into it — the source then reads a private copy of both, so those
// packages are seen without touching the originals — and layouts other
// than rpm's (another text encoding, another Packages table).
package rpm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/rpm/internal/rpmdb"
	"github.com/avscout/avscout/internal/errlist"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
)

// dbPaths are the database files the source looks for, relative to the
// root, in order of preference: the newest format first, and within a
// format the newer location first (on current distributions var/lib/rpm is
// a symlink to usr/lib/sysimage/rpm). Only the first one present is read:
// an older file left behind by a format conversion is stale.
var dbPaths = []string{
	"usr/lib/sysimage/rpm/rpmdb.sqlite",
	"var/lib/rpm/rpmdb.sqlite",
	"usr/lib/sysimage/rpm/Packages.db",
	"var/lib/rpm/Packages.db",
	"usr/lib/sysimage/rpm/Packages",
	"var/lib/rpm/Packages",
}

// Source reads the rpm package database. The zero value is ready to use.
type Source struct{}

var _ detect.Source = Source{}

// Name implements [detect.Source].
func (Source) Name() string { return "rpm" }

// Collect implements [detect.Source]: it emits one observation per
// installed package (gpg-pubkey entries included) with Kind
// [detect.KindPackage] and Status [detect.Installed]. It returns an error
// wrapping [detect.ErrUnavailable] when the host has no rpm database.
func (Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h == nil || h.FS == nil {
		return fmt.Errorf("no filesystem to read: %w", detect.ErrUnavailable)
	}
	name, info, err := find(h.FS)
	if err != nil {
		return err
	}
	return read(ctx, h, name, info, emit)
}

// find returns the first of dbPaths that exists as a regular file.
func find(fsys fs.FS) (string, fs.FileInfo, error) {
	if _, err := fs.Stat(fsys, "."); err != nil {
		return "", nil, fmt.Errorf("root: %w", err)
	}
	var problems []error
	for _, name := range dbPaths {
		info, err := fs.Stat(fsys, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			problems = append(problems, err)
		case !info.Mode().IsRegular():
			problems = append(problems, fmt.Errorf("%s: not a regular file (mode %s)", name, info.Mode()))
		default:
			return name, info, nil
		}
	}
	if len(problems) > 0 {
		return "", nil, fmt.Errorf("rpm database: %w", errors.Join(problems...))
	}
	return "", nil, fmt.Errorf("no rpm database in usr/lib/sysimage/rpm or var/lib/rpm: %w", detect.ErrUnavailable)
}

// read emits the packages of the database file name. It recovers from a
// panic in the parsers, which read binary data from the target, so that a
// file crafted to crash them ends as an error of this source.
//
// A record that is there but cannot be read — a malformed header, one
// over [rpmdb.MaxBlob], a broken overflow chain — is that package's
// warning ([detect.Warn]): the others are still read and emitted. A
// database whose structure is damaged or that was cut short (records past
// its end) is the source's error.
func read(ctx context.Context, h *host.Host, name string, info fs.FileInfo, emit func(detect.Observation)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rpm database %s: panic while reading: %v", name, r)
		}
	}()
	records, done, err := open(ctx, h, name, info)
	if err != nil {
		return fmt.Errorf("rpm database %s: %w", name, err)
	}
	defer done()

	var errs []error // the database's
	// The records': the first maxItemErrors, and a count.
	items := errlist.List{Max: maxItemErrors, What: "unreadable packages"}
	for rec, err := range records {
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			var p rpmdb.Package
			if p, err = rpmdb.ParseHeader(rec.Blob); err == nil {
				emit(detect.Observation{
					Kind:     detect.KindPackage,
					Status:   detect.Installed,
					Name:     p.Name,
					Version:  p.EVR(),
					Vendor:   p.Vendor,
					Packager: p.Packager,
					Location: name,
					Detail:   p.Detail(),
				})
				continue
			}
			err = fmt.Errorf("%s: %w", rec.Loc, err)
		}
		err = fmt.Errorf("rpm database %s: %w", name, err)
		if rec.Loc == "" || errors.Is(err, rpmdb.ErrTruncated) || errors.Is(err, io.ErrUnexpectedEOF) {
			errs = append(errs, err)
			continue
		}
		items.Add(detect.Warn(err))
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("rpm database %s: %w", name, ctx.Err()))
	}
	errs = append(errs, items.Kept()...)
	if more := items.More(); more != nil {
		errs = append(errs, detect.Warn(fmt.Errorf("rpm database %s: %w", name, more)))
	}
	return errors.Join(errs...)
}

// maxItemErrors is how many unreadable records are reported one by one.
const maxItemErrors = 10

// open recognises the format of the database file name by its content and
// returns its records and a function that releases what reading them held.
func open(ctx context.Context, h *host.Host, name string, info fs.FileInfo) (iter.Seq2[rpmdb.Record, error], func(), error) {
	f, err := safefs.Open(ctx, h.FS, name, safefs.RPMDB)
	if err != nil {
		return nil, nil, err
	}
	head := make([]byte, sqliteHeaderSize) // enough to recognise every format
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, nil, err
	}
	head = head[:n]
	switch {
	case isSQLite(head):
		if err := checkSQLiteSize(head, info.Size()); err != nil {
			f.Close()
			return nil, nil, err
		}
		if walPending(h.FS, name) {
			f.Close()
			return openSQLite(ctx, h, name, info)
		}
		ra, size, err := readerAt(f, head)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return sqlitePages(ra, size, func() (iter.Seq2[rpmdb.Record, error], func(), error) {
			return openSQLite(ctx, h, name, info)
		}), func() { f.Close() }, nil
	case rpmdb.IsNDB(head), rpmdb.IsBDB(head):
		ra, size, err := readerAt(f, head)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		done := func() { f.Close() }
		if rpmdb.IsNDB(head) {
			return rpmdb.NDB(ra, size), done, nil
		}
		return rpmdb.BDB(ra, size), done, nil
	}
	f.Close()
	if n == 0 {
		return nil, nil, errors.New("empty file")
	}
	return nil, nil, errors.New("unknown format (not sqlite, ndb or berkeley db)")
}

// readerAt gives random access to f, of which head has been read: directly
// when the filesystem allows it (os.Root's files do), else by reading the
// file into memory, as far as the cap of an rpm database.
func readerAt(f *safefs.File, head []byte) (io.ReaderAt, int64, error) {
	if f.RandomAccess() {
		return f, f.Size(), nil
	}
	b, err := io.ReadAll(io.MultiReader(bytes.NewReader(head), f))
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(b), int64(len(b)), nil
}

// sqlitePages yields the records of an SQLite database read from ra (size
// bytes long) by the page reader [rpmdb.SQLite], which needs neither the
// SQLite engine nor a file path. When that reader does not handle the
// database's layout it reads the records from engine instead, the SQLite
// engine's path ([openSQLite]), and releases what that held at the end.
func sqlitePages(ra io.ReaderAt, size int64, engine func() (iter.Seq2[rpmdb.Record, error], func(), error)) iter.Seq2[rpmdb.Record, error] {
	return func(yield func(rpmdb.Record, error) bool) {
		first := true
		for rec, err := range rpmdb.SQLite(ra, size) {
			if first && errors.Is(err, rpmdb.ErrUnsupported) {
				records, done, err := engine()
				if err != nil {
					yield(rpmdb.Record{}, err)
					return
				}
				defer done()
				for rec, err := range records {
					if !yield(rec, err) {
						return
					}
				}
				return
			}
			first = false
			if !yield(rec, err) {
				return
			}
		}
	}
}

// walPending reports whether the SQLite database name has a write-ahead
// log beside it that may hold transactions not yet in the database file.
func walPending(fsys fs.FS, name string) bool {
	wal, err := fs.Stat(fsys, name+"-wal")
	return err == nil && wal.Mode().IsRegular() && wal.Size() > 0
}

// openSQLite returns the records of the SQLite database name. SQLite needs
// a real file path, so it reads the file at [host.Host.LocalPath] in place,
// read-only and immutable, when that is the very file found through the
// host's filesystem (a symlink or a filesystem that is not the OS's could
// make them differ) and no write-ahead log holds pending transactions.
// Otherwise it reads a private copy, taken through the host's filesystem.
// When a copy with the log cannot be made, it reads the file in place and
// ends with an error saying the log was not read.
func openSQLite(ctx context.Context, h *host.Host, name string, info fs.FileInfo) (iter.Seq2[rpmdb.Record, error], func(), error) {
	wal, err := fs.Stat(h.FS, name+"-wal")
	pending := err == nil && wal.Mode().IsRegular() && wal.Size() > 0 // as walPending, keeping wal's size
	local := h.LocalPath(name)
	st, err := os.Stat(local)
	inPlace := err == nil && os.SameFile(info, st)
	if inPlace && !pending {
		return sqliteBlobs(ctx, local, true), func() {}, nil
	}
	cp, done, err := copySQLite(h.FS, name, pending)
	switch {
	case err == nil:
		return sqliteBlobs(ctx, cp, false), done, nil
	case inPlace: // pending: read what has been checkpointed
		walErr := fmt.Errorf("its write-ahead log (%d bytes) was not read: %w", wal.Size(), err)
		return func(yield func(rpmdb.Record, error) bool) {
			for rec, err := range sqliteBlobs(ctx, local, true) {
				if !yield(rec, err) {
					return
				}
			}
			yield(rpmdb.Record{}, walErr)
		}, func() {}, nil
	}
	return nil, nil, err
}

// copySQLite copies the database name of fsys, and its write-ahead log
// when withWAL, into a new temporary directory. It returns the copy's path
// and a function that removes it.
func copySQLite(fsys fs.FS, name string, withWAL bool) (string, func(), error) {
	dir, err := os.MkdirTemp("", "avscout-rpmdb-")
	if err != nil {
		return "", nil, fmt.Errorf("copying the database: %w", err)
	}
	done := func() { os.RemoveAll(dir) }
	cp := filepath.Join(dir, "rpmdb.sqlite")
	err = copyFile(fsys, name, cp)
	if err == nil && withWAL {
		err = copyFile(fsys, name+"-wal", cp+"-wal")
	}
	if err != nil {
		done()
		return "", nil, fmt.Errorf("copying the database: %w", err)
	}
	return cp, done, nil
}

// copyFile copies the file name of fsys to the new local file dst, at
// most the cap of an rpm database.
func copyFile(fsys fs.FS, name, dst string) error {
	in, err := safefs.Open(context.Background(), fsys, name, safefs.RPMDB)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return out.Close()
}
