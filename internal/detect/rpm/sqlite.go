package rpm

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
