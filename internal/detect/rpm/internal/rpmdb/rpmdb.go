// Package rpmdb parses rpm's package databases and package headers from
// data the caller supplies (an io.ReaderAt or a byte slice): the Berkeley
// DB hash format of rpm ≤ 4.15, the ndb format SUSE uses, rpm's SQLite
// database (its Packages table, read page by page without the SQLite
// engine), and the header blobs all formats store.
//
// It exists apart from the rpm source so that these parsers of untrusted
// binary data are pure functions, without the SQLite driver, and can be
// fuzzed on their own. They check every length and offset against the
// data, bound every loop by the file's size, and run in the caller's
// goroutine: damaged input gives errors, never a panic, a hang, or a
// goroutine left behind. They only read, and never lock.
package rpmdb

import "errors"

// MaxBlob bounds a package header blob the readers return: 64 MiB. rpm
// allows 256 MiB of header data (headerDataMax), but the largest real
// headers — file lists of tens of thousands of files — have a few MiB;
// a blob claiming more is refused before anything is allocated for it.
const MaxBlob = 64 << 20

// ErrTruncated marks a record that lies, in part, past the end of its
// file: the database was cut short, which is the database's failure, not
// that record's. Read errors of a file that ended early wrap
// io.ErrUnexpectedEOF instead.
var ErrTruncated = errors.New("truncated")

// ErrTooLarge marks a record larger than [MaxBlob].
var ErrTooLarge = errors.New("over the 64 MiB limit of an rpm header")

// Record is one package header blob and where it was found in its
// database, for error messages ("berkeley db page 3 item 5"). The readers
// reuse their buffers: Blob is valid only until the loop over the
// sequence continues.
type Record struct {
	Blob []byte
	Loc  string
}
