// Package safefs is the one way a scan opens what it reads from a
// target's filesystem.
//
// It exists because the agent runs as root or SYSTEM and reads files that
// unprivileged users can write (~/Applications, ~/Library/LaunchAgents,
// world-writable folders, the package databases of a mounted image). A
// user who plants a named pipe where a database should be would stall a
// plain open(2) forever; one who plants a 2 GiB file, a link to /dev/zero
// or a socket would make a plain read take the agent down or hang it. So:
//
//   - [Root] is the filesystem of a host: its Open opens with O_NONBLOCK
//     and checks the type of what it opened, so anything but a regular
//     file or a directory (a FIFO, a socket, a device) fails at once with
//     [ErrNotRegular], and no stat-then-open race can swap one in;
//   - [Open] and [ReadFile] open a file of a [Kind], whose size cap they
//     enforce before reading ([ErrTooLarge]) and while reading (a file
//     that grows), check the type again on any filesystem, and stop
//     reading once the context is done.
//
// Every source opens files through [Open] or [ReadFile]; the parsers
// behind them have budgets of their own (depth, count, expansion). The
// package knows no file format and no vendor.
package safefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Errors, wrapped in an [fs.PathError] naming the file.
var (
	// ErrNotRegular means a name that should be a regular file (or a
	// directory) is something else: a named pipe, which would block a
	// reader forever, a socket, a device such as /dev/zero.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means a file is larger than the cap of its kind.
	ErrTooLarge = errors.New("too large")
)

// Kind is a kind of file a source reads. Each has a size cap far above
// any real file of its kind and far below what would hurt the agent.
type Kind int

// Kinds of files, with their caps.
const (
	// Small is a file of a few lines: /etc/hostname, machine-id: 64 KiB.
	Small Kind = iota
	// Text is a configuration file or script: os-release, a systemd unit,
	// an init script: 1 MiB.
	Text
	// Plist is a property list (Info.plist, receipts, launchd jobs, the
	// system extension database): 5 MiB, as syft's Info.plist reader.
	// Real ones are a few KiB.
	Plist
	// PackageDB is a package database read as a stream of records: dpkg's
	// status file and status.d entries, apk's installed database, pacman's
	// desc files: 512 MiB. A 100,000-package status file has 30 MiB.
	PackageDB
	// RPMDB is an rpm database read at random (Packages, Packages.db,
	// rpmdb.sqlite and its write-ahead log): 1 GiB. The largest real ones
	// have a few hundred MiB.
	RPMDB
	// Executable is a program or driver whose headers are read at random
	// (PE, Mach-O, ELF): 4 GiB, the largest file a PE image can be; only
	// headers and signatures are read from it.
	Executable
	// RegText is a .reg export: 16 MiB (winreg.MaxRegFileSize).
	RegText
	// Hive is a registry hive file or its transaction log, read at random
	// (regf): 2 GiB, the most the format addresses. Real SOFTWARE hives
	// have up to a few hundred MiB; only the keys asked for are read.
	Hive
)

// Limit is the size cap of k, in bytes.
func (k Kind) Limit() int64 {
	switch k {
	case Small:
		return 64 << 10
	case Text:
		return 1 << 20
	case Plist:
		return 5 << 20
	case PackageDB:
		return 512 << 20
	case RPMDB:
		return 1 << 30
	case Executable:
		return 4 << 30
	case RegText:
		return 16 << 20
	case Hive:
		return 2<<30 + 4096
	}
	return 0
}

// String names k as error messages do: "a property list".
func (k Kind) String() string {
	switch k {
	case Small:
		return "a small file"
	case Text:
		return "a text file"
	case Plist:
		return "a property list"
	case PackageDB:
		return "a package database"
	case RPMDB:
		return "an rpm database"
	case Executable:
		return "an executable"
	case RegText:
		return "a .reg file"
	case Hive:
		return "a registry hive"
	}
	return fmt.Sprintf("kind %d", int(k))
}

// tooLarge is the error of a file of size bytes (or more, when atLeast)
// over k's cap.
func tooLarge(name string, k Kind, size int64, atLeast bool) error {
	more := ""
	if atLeast {
		more = "more than "
	}
	return &fs.PathError{Op: "read", Path: name,
		Err: fmt.Errorf("%w: %s%d bytes, over the %s limit of %s", ErrTooLarge, more, size, SizeString(k.Limit()), k)}
}

// SizeString writes a byte count as the caps are written: "5 MiB".
func SizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// notRegular is the error of name, which is of mode m.
func notRegular(op, name string, m fs.FileMode) error {
	return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, TypeName(m))}
}

// TypeName says what a file of mode m is: "a named pipe", "a socket", "a
// character device", "a directory"…
func TypeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "mode " + m.String()
}

// File is a regular file opened by [Open]: reads stop at its kind's cap
// and once its context is done.
type File struct {
	f    fs.File
	ctx  context.Context
	name string
	kind Kind
	size int64 // at open
	read int64 // bytes read through Read
}

// Open opens the regular file name of fsys (slash separated, relative to
// its root) for reading as a file of kind k. A name that is not a regular
// file fails with an error wrapping [ErrNotRegular]; one larger than k's
// cap with one wrapping [ErrTooLarge]; both name the file. On a [Root]
// the type is known before anything is read; on another filesystem (a
// test's) it is checked right after opening.
func Open(ctx context.Context, fsys fs.FS, name string, k Kind) (*File, error) {
	if err := ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, notRegular("open", name, fi.Mode())
	}
	if fi.Size() > k.Limit() {
		f.Close()
		return nil, tooLarge(name, k, fi.Size(), false)
	}
	return &File{f: f, ctx: ctx, name: name, kind: k, size: fi.Size()}, nil
}

// Name is the name the file was opened under.
func (f *File) Name() string { return f.name }

// Size is the file's size when it was opened.
func (f *File) Size() int64 { return f.size }

// Stat returns the file's info.
func (f *File) Stat() (fs.FileInfo, error) { return f.f.Stat() }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Read reads from the file. Past the cap of the file's kind (the file grew
// after it was opened) it fails with an error wrapping [ErrTooLarge]; once
// the context is done, with the context's error.
func (f *File) Read(p []byte) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
	}
	limit := f.kind.Limit()
	if f.read >= limit {
		// One more byte says whether the file ends exactly at the cap.
		var b [1]byte
		n, err := f.f.Read(b[:])
		if n > 0 {
			return 0, tooLarge(f.name, f.kind, limit, true)
		}
		return 0, err
	}
	if rest := limit - f.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := f.f.Read(p)
	f.read += int64(n)
	return n, err
}

// ReadAt reads len(p) bytes at off when the underlying file allows random
// access (the files of a [Root] do), within the size the file had when it
// was opened. It fails with the context's error once the context is done.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
	}
	ra, ok := f.f.(io.ReaderAt)
	if !ok {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errors.ErrUnsupported}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= f.size {
		return 0, io.EOF
	}
	short := false
	if rest := f.size - off; int64(len(p)) > rest {
		p, short = p[:rest], true
	}
	n, err := ra.ReadAt(p, off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

// RandomAccess reports whether [File.ReadAt] works.
func (f *File) RandomAccess() bool {
	_, ok := f.f.(io.ReaderAt)
	return ok
}

// ReadFile reads the regular file name of fsys, a file of kind k, whole
// (see [Open]).
func ReadFile(ctx context.Context, fsys fs.FS, name string, k Kind) ([]byte, error) {
	f, err := Open(ctx, fsys, name, k)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 0, min(f.size+1, k.Limit()+1))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
