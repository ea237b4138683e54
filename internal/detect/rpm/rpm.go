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
// reader that walks the Packages table's b-tree, and reads the pages that
// the write-ahead log beside it (rpmdb.sqlite-wal) holds in their last
// committed version: it starts in microseconds where the SQLite engine
// took tens of milliseconds, holds a few pages rather than the engine's
// cache, and keeps the SQLite engine (and its start-up cost) out of the
// agent. Layouts rpm never writes (another text encoding, a Packages
// table that is not rpm's) are reported as unsupported.
package rpm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"

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
// over [rpmdb.MaxBlob], a broken overflow chain — is the source's error
// too, though the others are still read and emitted: the package it
// holds may be the one a scan looks for, so the scan cannot say it is not
// there. A database whose structure is damaged or that was cut short (records past
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
		items.Add(err)
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("rpm database %s: %w", name, ctx.Err()))
	}
	errs = append(errs, items.Kept()...)
	if more := items.More(); more != nil {
		errs = append(errs, fmt.Errorf("rpm database %s: %w", name, more))
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
		ra, size, err := readerAt(f, head)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		wal, walSize, closeWAL, walErr := openWAL(ctx, h.FS, name)
		return sqliteRecords(rpmdb.SQLiteWAL(ra, size, wal, walSize), walErr), func() { closeWAL(); f.Close() }, nil
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

// sqliteRecords passes on the records of an SQLite database, saying of
// a layout rpm does not write that it is not supported, and ends with
// walErr, when not nil: the write-ahead log could not be read.
func sqliteRecords(records iter.Seq2[rpmdb.Record, error], walErr error) iter.Seq2[rpmdb.Record, error] {
	return func(yield func(rpmdb.Record, error) bool) {
		for rec, err := range records {
			if errors.Is(err, rpmdb.ErrUnsupported) {
				err = fmt.Errorf("unsupported rpm sqlite database: %w", err)
			}
			if !yield(rec, err) {
				return
			}
		}
		if walErr != nil {
			yield(rpmdb.Record{}, walErr)
		}
	}
}

// openWAL opens the write-ahead log beside the SQLite database name, when
// there is one that is not empty, for random access; close releases it.
// Without one (or with one that is not a regular file, which SQLite would
// not use either) it returns nil. When the log is there but cannot be
// read, it returns nil and an error saying so: the database is then read
// as its file alone has it.
func openWAL(ctx context.Context, fsys fs.FS, name string) (wal io.ReaderAt, size int64, done func(), err error) {
	done = func() {}
	info, err := fs.Stat(fsys, name+"-wal")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, done, nil
	case err != nil:
		return nil, 0, done, fmt.Errorf("its write-ahead log was not read: %w", err)
	case !info.Mode().IsRegular() || info.Size() == 0:
		return nil, 0, done, nil
	}
	f, err := safefs.Open(ctx, fsys, name+"-wal", safefs.RPMDB)
	if err != nil {
		return nil, 0, done, fmt.Errorf("its write-ahead log (%d bytes) was not read: %w", info.Size(), err)
	}
	ra, size, err := readerAt(f, nil)
	if err != nil {
		f.Close()
		return nil, 0, done, fmt.Errorf("its write-ahead log (%d bytes) was not read: %w", info.Size(), err)
	}
	return ra, size, func() { f.Close() }, nil
}
