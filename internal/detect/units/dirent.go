package units

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/safefs"
)

// The d_type values of a Linux dirent (dirent.h); unknown is what a
// filesystem that does not record types gives, and what needs an lstat.
const (
	dtUnknown = 0
	dtFIFO    = 1
	dtChr     = 2
	dtDir     = 4
	dtBlk     = 6
	dtReg     = 8
	dtLnk     = 10
	dtSock    = 12
)

// errBadDirent means a directory listing's record does not fit its
// buffer: the kernel never writes one, but the listing stops there rather
// than read past it.
var errBadDirent = errors.New("malformed directory record")

// direntHeader is the fixed part of a linux_dirent64: inode (8 bytes),
// offset (8), record length (2), type (1); the name follows, NUL
// terminated, padded to the record length.
const direntHeader = 19

// parseDirents calls each with the name and type of every record of a
// getdents64 buffer, "." and ".." left out. It reads only inside buf and
// fails on a record whose length does not fit.
func parseDirents(buf []byte, each func(name string, typ fs.FileMode, known bool)) error {
	for len(buf) > 0 {
		if len(buf) < direntHeader {
			return errBadDirent
		}
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < direntHeader || reclen > len(buf) {
			return errBadDirent
		}
		rec := buf[direntHeader:reclen]
		typ, known := direntType(buf[18])
		buf = buf[reclen:]
		n := 0
		for n < len(rec) && rec[n] != 0 {
			n++
		}
		name := rec[:n]
		if n == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		each(string(name), typ, known)
	}
	return nil
}

// direntType is the fs.FileMode type of a d_type; known is false when
// only an lstat can tell.
func direntType(t byte) (fs.FileMode, bool) {
	switch t {
	case dtReg:
		return 0, true
	case dtDir:
		return fs.ModeDir, true
	case dtLnk:
		return fs.ModeSymlink, true
	case dtFIFO:
		return fs.ModeNamedPipe, true
	case dtSock:
		return fs.ModeSocket, true
	case dtChr:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case dtBlk:
		return fs.ModeDevice, true
	}
	return 0, false
}

// dirent is a directory entry whose type the listing told: its Info is
// an lstat, asked only when someone wants it.
type dirent struct {
	in   *listing
	name string
	typ  fs.FileMode
}

// listing is the folder a dirent was listed in.
type listing struct {
	fsys fs.FS
	dir  string // the folder's name in fsys
}

func (d *dirent) Name() string      { return d.name }
func (d *dirent) IsDir() bool       { return d.typ.IsDir() }
func (d *dirent) Type() fs.FileMode { return d.typ }
func (d *dirent) Info() (fs.FileInfo, error) {
	return fs.Lstat(d.in.fsys, path.Join(d.in.dir, d.name))
}
func (d *dirent) String() string { return fs.FormatDirEntry(d) }

// direntBuf is the size of the buffer folders are read with.
const direntBuf = 8192

// listDir is fs.ReadDir(fsys, dir) without its lstat of every entry.
//
// A folder read through os.Root costs one lstat per entry (Go cannot
// look an entry's type up lazily there), which for /usr/lib/systemd/system
// is hundreds of system calls for types the listing already holds. Where
// the folder opens as a file of this machine, listDir reads its records
// itself (see dirents) and asks an lstat only for an entry whose type the
// filesystem did not record; elsewhere it is fs.ReadDir. Entries are
// sorted by name; past [safefs.MaxDirEntries] it returns those and an
// error wrapping [safefs.ErrTooManyEntries], as fs.ReadDir on the host's
// FS does.
//
// buf is where the records are read, a buffer the caller reuses from one
// folder to the next (at least 1 KiB); nil for a fresh one.
func listDir(fsys fs.FS, dir string, buf []byte) ([]fs.DirEntry, error) {
	f, err := fsys.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ents []fs.DirEntry
	var lerr error
	in := &listing{fsys: fsys, dir: dir}
	var block []dirent // the entries are made in blocks, not one by one
	if len(buf) < 1024 {
		buf = make([]byte, direntBuf)
	}
	ok, err := dirents(f, buf, func(name string, typ fs.FileMode, known bool) bool {
		if len(ents) == safefs.MaxDirEntries {
			lerr = &fs.PathError{Op: "readdir", Path: dir, Err: safefs.ErrTooManyEntries}
			return false
		}
		if len(block) == cap(block) {
			block = make([]dirent, 0, min(max(len(ents), 16), 1024))
		}
		block = append(block, dirent{in: in, name: name, typ: typ})
		d := &block[len(block)-1]
		if !known {
			fi, err := fs.Lstat(fsys, path.Join(dir, name))
			if err != nil {
				return true // gone since it was listed, as fs.ReadDir skips it
			}
			d.typ = fi.Mode().Type()
		}
		ents = append(ents, d)
		return true
	})
	if !ok {
		f.Close()
		return fs.ReadDir(fsys, dir)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: err}
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, lerr
}
