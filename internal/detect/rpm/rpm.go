// Package rpm is the source that reads the rpm package database, where Red
// Hat Enterprise Linux, CentOS, Rocky, Alma, Fedora, SUSE and their
// relatives record what is installed. Kaspersky ships its Linux products as
// rpm packages (kesl, klnagent64, kesl-gui), and so do most endpoint
// vendors: the database says which of them are installed, at what version,
// and which vendor and packager built them.
//
// The source reads the three formats rpm has used, in pure Go so the agent
// stays free of cgo and of the rpm tools (a scanned image or a container
// root has no working rpm):
//
//   - sqlite: rpmdb.sqlite (rpm ≥ 4.16; Fedora ≥ 33, RHEL 9);
//   - ndb: Packages.db (SUSE since SLE 15 SP3, openSUSE);
//   - Berkeley DB: Packages (RHEL ≤ 8, CentOS 7, older SUSE).
//
// It looks in usr/lib/sysimage/rpm and var/lib/rpm and reads only the
// newest format present, the one rpm itself uses.
//
// Reading is strictly read-only: the scanned system may be a live machine
// in the middle of a dnf transaction, or a disk image kept as evidence.
// The source never writes, creates files beside the database, or takes a
// lock, so it can neither corrupt nor stall rpm: SQLite opens the file
// immutable, and the ndb and Berkeley DB readers are this package's own
// (go-rpmdb, which the tests use as a reference, opens sqlite read-write
// and flocks ndb files). When an SQLite write-ahead log holds committed
// transactions not yet copied into the database file, the source reads a
// private copy of both, so those packages are seen without touching the
// originals.
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
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// DBPaths are the database files the source looks for, relative to the
// root, in order of preference: the newest format first, and within a
// format the newer location first (on current distributions var/lib/rpm is
// a symlink to usr/lib/sysimage/rpm). Only the first one present is read:
// an older file left behind by a format conversion is stale.
var DBPaths = []string{
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

// find returns the first of DBPaths that exists as a regular file.
func find(fsys fs.FS) (string, fs.FileInfo, error) {
	if _, err := fs.Stat(fsys, "."); err != nil {
		return "", nil, fmt.Errorf("root: %w", err)
	}
	var problems []error
	for _, name := range DBPaths {
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
	return "", nil, fmt.Errorf("no rpm database (looked for %s): %w", strings.Join(DBPaths, ", "), detect.ErrUnavailable)
}

// read emits the packages of the database file name. It recovers from a
// panic in the parsers, which read binary data from the target, so that a
// file crafted to crash them ends as an error of this source.
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

	var bad int
	var first error
	for rec, err := range records {
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			var p pkg
			if p, err = parseHeader(rec.blob); err == nil {
				emit(detect.Observation{
					Kind:     detect.KindPackage,
					Status:   detect.Installed,
					Name:     p.name,
					Version:  p.evr(),
					Vendor:   p.vendor,
					Packager: p.packager,
					Location: name,
					Detail:   p.detail(),
				})
				continue
			}
			err = fmt.Errorf("%s: %w", rec.loc, err)
		}
		if bad++; first == nil {
			first = err
		}
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("rpm database %s: %w", name, ctx.Err())
	case bad > 1:
		return fmt.Errorf("rpm database %s: %d bad records, the first: %w", name, bad, first)
	case bad == 1:
		return fmt.Errorf("rpm database %s: %w", name, first)
	}
	return nil
}

// record is one package header blob and where it was found.
type record struct {
	blob []byte
	loc  string
}

// open recognises the format of the database file name by its content and
// returns its records and a function that releases what reading them held.
func open(ctx context.Context, h *host.Host, name string, info fs.FileInfo) (iter.Seq2[record, error], func(), error) {
	f, err := h.FS.Open(name)
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
		f.Close()
		if err := checkSQLiteSize(head, info.Size()); err != nil {
			return nil, nil, err
		}
		return openSQLite(ctx, h, name, info)
	case isNDB(head), isBDB(head):
		ra, size, err := readerAt(f, head)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		done := func() { f.Close() }
		if isNDB(head) {
			return ndbBlobs(ra, size), done, nil
		}
		return bdbBlobs(ra, size), done, nil
	}
	f.Close()
	if n == 0 {
		return nil, nil, errors.New("empty file")
	}
	return nil, nil, errors.New("unknown format (not sqlite, ndb or berkeley db)")
}

// readerAt gives random access to f, of which head has been read: directly
// when the filesystem allows it (os.Root's files do), else by reading the
// file into memory.
func readerAt(f fs.File, head []byte) (io.ReaderAt, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if ra, ok := f.(io.ReaderAt); ok {
		return ra, st.Size(), nil
	}
	b, err := io.ReadAll(io.MultiReader(bytes.NewReader(head), f))
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(b), int64(len(b)), nil
}

// openSQLite returns the records of the SQLite database name. SQLite needs
// a real file path, so it reads the file at [host.Host.LocalPath] in place,
// read-only and immutable, when that is the very file found through the
// host's filesystem (a symlink or a filesystem that is not the OS's could
// make them differ) and no write-ahead log holds pending transactions.
// Otherwise it reads a private copy, taken through the host's filesystem.
func openSQLite(ctx context.Context, h *host.Host, name string, info fs.FileInfo) (iter.Seq2[record, error], func(), error) {
	wal, err := fs.Stat(h.FS, name+"-wal")
	pending := err == nil && wal.Mode().IsRegular() && wal.Size() > 0
	if !pending {
		local := h.LocalPath(name)
		if st, err := os.Stat(local); err == nil && os.SameFile(info, st) {
			return sqliteBlobs(ctx, local, true), func() {}, nil
		}
	}
	dir, err := os.MkdirTemp("", "avscout-rpmdb-")
	if err != nil {
		return nil, nil, fmt.Errorf("copying the database: %w", err)
	}
	done := func() { os.RemoveAll(dir) }
	cp := filepath.Join(dir, "rpmdb.sqlite")
	err = copyFile(h.FS, name, cp)
	if err == nil && pending {
		err = copyFile(h.FS, name+"-wal", cp+"-wal")
	}
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("copying the database: %w", err)
	}
	return sqliteBlobs(ctx, cp, false), done, nil
}

// copyFile copies the file name of fsys to the new local file dst.
func copyFile(fsys fs.FS, name, dst string) error {
	in, err := fsys.Open(name)
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
