// Package rpmdb parses rpm's package databases and package headers from
// data the caller supplies (an io.ReaderAt or a byte slice): the Berkeley
// DB hash format of rpm ≤ 4.15, the ndb format SUSE uses, and the header
// blobs all formats store, sqlite included.
//
// It exists apart from the rpm source so that these parsers of untrusted
// binary data are pure functions, without the SQLite driver, and can be
// fuzzed on their own. They check every length and offset against the
// data, bound every loop by the file's size, and run in the caller's
// goroutine: damaged input gives errors, never a panic, a hang, or a
// goroutine left behind. They only read, and never lock.
package rpmdb

// Record is one package header blob and where it was found in its
// database, for error messages ("berkeley db page 3 item 5"). The readers
// reuse their buffers: Blob is valid only until the loop over the
// sequence continues.
type Record struct {
	Blob []byte
	Loc  string
}
