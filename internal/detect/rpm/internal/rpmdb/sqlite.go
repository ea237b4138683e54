package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
)

// SQLite database file layout (https://www.sqlite.org/fileformat.html),
// as rpm ≥ 4.16 writes rpmdb.sqlite: a 100-byte header at the start of
// page 1, then the schema table's b-tree rooted at page 1, which names the
// root page of every other table. rpm's Packages table is
// (hnum INTEGER PRIMARY KEY, blob BLOB): a table b-tree keyed by hnum whose
// records hold a NULL (hnum is the rowid) and the header blob, most of it
// on a chain of overflow pages.
const (
	sqliteHeader       = 100
	sqliteIndexLeaf    = 10 // b-tree page types
	sqliteIndexNode    = 2
	sqliteTableLeaf    = 13
	sqliteTableNode    = 5
	sqliteMaxDepth     = 64       // SQLite itself stops at 20 (BTCURSOR_MAX_DEPTH)
	sqliteWindow       = 64 << 10 // most bytes of pages read at once
	sqliteReadAhead    = 32 << 10 // bytes of pages read at least at once
	sqliteMaxSchemaRow = 1 << 20  // a schema row: a name and a CREATE statement
	sqliteMaxExtra     = 1 << 10  // a Packages record's bytes besides the blob
)

var sqliteMagic = []byte("SQLite format 3\x00")

// ErrUnsupported marks an SQLite database that [SQLite] does not read
// although SQLite could: another text encoding, a Packages table that is
// not rpm's (WITHOUT ROWID, other columns), no Packages table, a newer
// file format. rpm writes none of these. [SQLite] yields it only as its
// first and only element, before any record.
var ErrUnsupported = errors.New("a layout rpm does not write")

// SQLite yields the header blob of every package of rpm's SQLite database
// read from r (size bytes long), in the order of their hnum, as
// "SELECT blob FROM Packages ORDER BY hnum" would. It reads the file
// alone; [SQLiteWAL] also reads its write-ahead log.
func SQLite(r io.ReaderAt, size int64) iter.Seq2[Record, error] {
	return SQLiteWAL(r, size, nil, 0)
}

// SQLiteWAL is [SQLite] for a database whose write-ahead log is read from
// wal (walSize bytes long; none when wal is nil): each page is read in its
// last committed version, from the log when it holds one, and frames of a
// transaction not committed are ignored, as SQLite's own readers see the
// database. It takes no lock: when the log is restarted while the
// database is read (a checkpoint, then a new write), the sequence ends
// with an error saying so.
//
// Each page is read at most once: a loop of pages, a page shared by two
// trees or a tree deeper than 64 levels is an error, and the work is
// bounded by the files' sizes. A damaged record (a broken overflow chain,
// a malformed record, a blob over [MaxBlob]) yields an error with its Loc
// and reading goes on with the next; a damaged tree yields an error and
// ends the sequence.
func SQLiteWAL(r io.ReaderAt, size int64, wal io.ReaderAt, walSize int64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		d, err := openSQLite(r, size, wal, walSize)
		if err != nil {
			yield(Record{}, err)
			return
		}
		root, err := d.packagesRoot()
		if err != nil {
			yield(Record{}, err)
			return
		}
		stopped := false
		err = d.walk(root, func(rowid int64, c leafCell) bool {
			loc := "sqlite package " + strconv.FormatInt(rowid, 10)
			blob, err := d.packageBlob(c)
			if err != nil {
				stopped = !yield(Record{Loc: loc}, fmt.Errorf("%s: %w", loc, err))
				return !stopped
			}
			stopped = !yield(Record{Blob: blob, Loc: loc}, nil)
			return !stopped
		})
		if err == nil && !stopped && wal != nil {
			err = walUnchanged(wal, d.walHeader)
		}
		if err != nil {
			yield(Record{}, err)
		}
	}
}

// sqliteDB reads one database file.
type sqliteDB struct {
	r         io.ReaderAt
	pageSize  int64
	usable    int64    // bytes of a page that hold data: the page size less the reserved bytes
	pages     int64    // pages of the database: the file's, or the log's last commit's
	filePages int64    // whole pages in the file
	seen      []uint64 // a bit per page: read already
	levels    [][]byte // the pages on the path from the root being walked, reused
	payload   []byte   // the record being assembled, reused

	// Pages are read a window at a time: a system call costs more than
	// copying tens of kilobytes, and the pages of a tree and of a record's
	// overflow chain are mostly near each other.
	win  []byte // pages win0 … win0+len(win)/pageSize-1
	win0 int64

	// The write-ahead log, when there is one: the pages it holds are read
	// from it, one at a time, into walPage.
	wal       io.ReaderAt
	walFrames map[int64]int64
	walHeader []byte
	walPage   []byte
}

// leafCell is a cell of a table leaf page: a record of size bytes, of
// which local are on the page and the rest on overflow pages from first.
type leafCell struct {
	size  int64
	local []byte
	first int64
}

func openSQLite(r io.ReaderAt, size int64, wal io.ReaderAt, walSize int64) (*sqliteDB, error) {
	head := make([]byte, sqliteHeader)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("sqlite header: %w", noEOF(err))
	}
	pageSize, usable, err := sqliteHeaderFields(head)
	if err != nil {
		return nil, err
	}
	d := &sqliteDB{r: r, pageSize: pageSize, usable: usable, filePages: size / pageSize}
	d.pages = d.filePages
	if wal != nil {
		idx, err := readWAL(wal, walSize, pageSize)
		if err != nil {
			return nil, err
		}
		d.wal, d.walHeader = wal, idx.header
		if idx.pages > 0 {
			d.walFrames, d.pages = idx.frames, idx.pages
			d.walPage = make([]byte, pageSize)
		}
		if off, ok := d.walFrames[1]; ok {
			// The database header as last committed: it must describe
			// the same pages.
			if _, err := wal.ReadAt(head, off); err != nil {
				return nil, fmt.Errorf("sqlite write-ahead log, page 1: %w", noEOF(err))
			}
			ps, u, err := sqliteHeaderFields(head)
			if err != nil {
				return nil, fmt.Errorf("sqlite write-ahead log, page 1: %w", err)
			}
			if ps != pageSize || u != usable {
				return nil, fmt.Errorf("sqlite write-ahead log, page 1: pages of %d bytes (%d usable), the file's of %d (%d)", ps, u, pageSize, usable)
			}
		}
	}
	if d.pages < 1 {
		return nil, fmt.Errorf("sqlite database of %d bytes is shorter than its first page: %w", size, ErrTruncated)
	}
	// A bit for each page that can be read: those of the file and those
	// of the log, however many pages the log's last commit claims.
	d.seen = make([]uint64, min(d.pages, d.filePages+int64(len(d.walFrames)))/64+1)
	return d, nil
}

// sqliteHeaderFields checks the database header head (its first 100
// bytes) and returns its page size and the bytes of a page that hold
// data.
func sqliteHeaderFields(head []byte) (pageSize, usable int64, err error) {
	if !bytes.HasPrefix(head, sqliteMagic) {
		return 0, 0, errors.New("not an sqlite database (bad magic)")
	}
	be := binary.BigEndian
	pageSize = int64(be.Uint16(head[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return 0, 0, fmt.Errorf("sqlite page size %d is invalid", pageSize)
	}
	if head[18] > 2 || head[19] > 2 {
		return 0, 0, fmt.Errorf("sqlite file format versions %d/%d: %w", head[18], head[19], ErrUnsupported)
	}
	usable = pageSize - int64(head[20])
	if usable < 480 {
		return 0, 0, fmt.Errorf("sqlite page of %d bytes with %d reserved is invalid", pageSize, head[20])
	}
	if head[21] != 64 || head[22] != 32 || head[23] != 32 {
		return 0, 0, fmt.Errorf("sqlite payload fractions %d/%d/%d are invalid", head[21], head[22], head[23])
	}
	if enc := be.Uint32(head[56:60]); enc != 1 {
		return 0, 0, fmt.Errorf("sqlite text encoding %d, not UTF-8: %w", enc, ErrUnsupported)
	}
	return pageSize, usable, nil
}

// packagesRoot finds rpm's Packages table in the schema and returns its
// root page.
func (d *sqliteDB) packagesRoot() (int64, error) {
	var root int64
	var sql string
	var bad error
	err := d.walk(1, func(_ int64, c leafCell) bool {
		if c.size > sqliteMaxSchemaRow {
			bad = fmt.Errorf("sqlite schema row of %d bytes", c.size)
			return false
		}
		p, err := d.assemble(c)
		if err != nil {
			bad = fmt.Errorf("sqlite schema: %w", err)
			return false
		}
		var f [5]field
		if err := record(p, f[:]); err != nil {
			bad = fmt.Errorf("sqlite schema: %w", err)
			return false
		}
		if string(f[0].data) != "table" || !strings.EqualFold(string(f[1].data), "Packages") {
			return true
		}
		if root != 0 {
			bad = errors.New("sqlite schema names two Packages tables")
			return false
		}
		root, sql = f[3].int(), string(f[4].data)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return 0, err
	}
	if root == 0 {
		return 0, fmt.Errorf("sqlite schema has no Packages table: %w", ErrUnsupported)
	}
	// rpm's table, whose hnum is the rowid, so that the tree's order is
	// hnum's and the record is (NULL, blob).
	s := strings.ToLower(sql)
	h, b := strings.Index(s, "(hnum integer primary key"), strings.Index(s, ",blob blob")
	if h < 0 || b < h || strings.Contains(s, "without rowid") || strings.Count(s, ",") != 1 {
		return 0, fmt.Errorf("sqlite Packages table %q is not rpm's: %w", sql, ErrUnsupported)
	}
	if root < 2 || root > d.pages {
		return 0, fmt.Errorf("sqlite Packages table at page %d outside the file's %d pages: %w", root, d.pages, ErrTruncated)
	}
	return root, nil
}

// packageBlob returns the blob of a Packages record.
func (d *sqliteDB) packageBlob(c leafCell) ([]byte, error) {
	// The record's header is on the page: it has a few bytes, and a page
	// holds at least the first 103 bytes of a record.
	var f [2]field
	var off [2]int64
	if err := recordLayout(c.local, f[:], off[:]); err != nil {
		return nil, err
	}
	t := f[1].typ
	if t < 12 {
		return nil, fmt.Errorf("blob column has serial type %d, not a blob", t)
	}
	n := int64((t - 12) / 2)
	if n > MaxBlob {
		return nil, fmt.Errorf("header of %d bytes: %w", n, ErrTooLarge)
	}
	start := off[1]
	if start+n > c.size {
		return nil, fmt.Errorf("blob of %d bytes at %d past the record's end (%d bytes)", n, start, c.size)
	}
	if c.size > MaxBlob+sqliteMaxExtra {
		return nil, fmt.Errorf("record of %d bytes: %w", c.size, ErrTooLarge)
	}
	p, err := d.assemble(c)
	if err != nil {
		return nil, err
	}
	return p[start : start+n], nil
}

// walk calls fn for each cell of the table b-tree rooted at page root, in
// rowid order, until fn returns false. It returns the tree's first
// structural error.
func (d *sqliteDB) walk(root int64, fn func(rowid int64, c leafCell) bool) error {
	type frame struct {
		pg   int64
		page []byte
		hdr  int64 // offset of the b-tree page header
		n    int64 // cells
		next int64 // the next child to visit: cell index, n for the right-most
	}
	var stack []frame
	push := func(pg int64) error {
		if len(stack) >= sqliteMaxDepth {
			return fmt.Errorf("sqlite b-tree from page %d deeper than %d levels", root, sqliteMaxDepth)
		}
		if len(d.levels) <= len(stack) {
			d.levels = append(d.levels, make([]byte, d.pageSize))
		}
		page := d.levels[len(stack)]
		if err := d.read(pg, page); err != nil {
			return err
		}
		hdr := int64(0)
		if pg == 1 {
			hdr = sqliteHeader
		}
		size := int64(8)
		switch page[hdr] {
		case sqliteTableLeaf:
		case sqliteTableNode:
			size = 12
		case sqliteIndexLeaf, sqliteIndexNode:
			if pg == root && len(stack) == 0 {
				return fmt.Errorf("sqlite table at page %d is an index (WITHOUT ROWID): %w", pg, ErrUnsupported)
			}
			fallthrough
		default:
			return fmt.Errorf("sqlite page %d has type %d, want a table b-tree page", pg, page[hdr])
		}
		n := int64(binary.BigEndian.Uint16(page[hdr+3:]))
		if hdr+size+2*n > d.usable {
			return fmt.Errorf("sqlite page %d: %d cells do not fit the page", pg, n)
		}
		stack = append(stack, frame{pg: pg, page: page, hdr: hdr, n: n})
		return nil
	}
	if err := push(root); err != nil {
		return err
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.page[f.hdr] == sqliteTableLeaf {
			for i := range f.n {
				off := int64(binary.BigEndian.Uint16(f.page[f.hdr+8+2*i:]))
				rowid, c, err := d.leafCell(f.page, f.hdr+8+2*f.n, off)
				if err != nil {
					return fmt.Errorf("sqlite page %d cell %d: %w", f.pg, i, err)
				}
				if !fn(rowid, c) {
					return nil
				}
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if f.next > f.n {
			stack = stack[:len(stack)-1]
			continue
		}
		var child int64
		if f.next == f.n {
			child = int64(binary.BigEndian.Uint32(f.page[f.hdr+8:]))
		} else {
			off := int64(binary.BigEndian.Uint16(f.page[f.hdr+12+2*f.next:]))
			if off < f.hdr+12+2*f.n || off+4 > d.usable {
				return fmt.Errorf("sqlite page %d cell %d at offset %d is outside the page's cells", f.pg, f.next, off)
			}
			child = int64(binary.BigEndian.Uint32(f.page[off:]))
		}
		f.next++
		if err := push(child); err != nil {
			return err
		}
	}
	return nil
}

// leafCell parses the cell at offset off of a table leaf page whose cell
// content starts at or after start.
func (d *sqliteDB) leafCell(page []byte, start, off int64) (int64, leafCell, error) {
	if off < start || off >= d.usable {
		return 0, leafCell{}, fmt.Errorf("offset %d is outside the page's cells", off)
	}
	b := page[off:d.usable]
	size, n := uvarint(b)
	if n == 0 {
		return 0, leafCell{}, errors.New("bad record size varint")
	}
	b = b[n:]
	rowid, n := uvarint(b)
	if n == 0 {
		return 0, leafCell{}, errors.New("bad rowid varint")
	}
	b = b[n:]
	if size > uint64(d.pages*d.pageSize) {
		return 0, leafCell{}, fmt.Errorf("record of %d bytes is larger than the file: %w", size, ErrTruncated)
	}
	// How much of a record stays on a leaf page (fileformat.html, "Cell
	// Payload Overflow Pages").
	u := d.usable
	local, x := int64(size), u-35
	if local > x {
		m := (u-12)*32/255 - 23
		local = m + (int64(size)-m)%(u-4)
		if local > x {
			local = m
		}
	}
	c := leafCell{size: int64(size)}
	need := local
	if local < c.size {
		need += 4
	}
	if need > int64(len(b)) {
		return 0, leafCell{}, fmt.Errorf("record of %d bytes overruns the page", size)
	}
	c.local = b[:local]
	if local < c.size {
		c.first = int64(binary.BigEndian.Uint32(b[local:]))
	}
	return int64(rowid), c, nil
}

// read reads page pg into page, once: a page read twice means a loop.
func (d *sqliteDB) read(pg int64, page []byte) error {
	if err := d.mark(pg); err != nil {
		return err
	}
	b, err := d.page(pg, 1)
	if err != nil {
		return err
	}
	copy(page, b)
	return nil
}

// page returns page pg, which must be in the file, from the window. When
// it is not there, the window moves to start at pg and holds the next
// want pages, or more, as far as the file and the window allow. The page
// is valid until the next call.
func (d *sqliteDB) page(pg, want int64) ([]byte, error) {
	if off, ok := d.walFrames[pg]; ok {
		if _, err := d.wal.ReadAt(d.walPage, off); err != nil {
			return nil, fmt.Errorf("sqlite page %d in the write-ahead log: %w", pg, noEOF(err))
		}
		return d.walPage, nil
	}
	if pg > d.filePages {
		return nil, fmt.Errorf("sqlite page %d is neither in the file's %d pages nor in the write-ahead log: %w", pg, d.filePages, ErrTruncated)
	}
	if i := pg - d.win0; d.win != nil && i >= 0 && (i+1)*d.pageSize <= int64(len(d.win)) {
		return d.win[i*d.pageSize : (i+1)*d.pageSize], nil
	}
	if d.win == nil {
		d.win = make([]byte, min(max(sqliteWindow, d.pageSize), d.filePages*d.pageSize))
	}
	n := max(want, sqliteReadAhead/d.pageSize, 1)
	n = min(n, d.filePages-pg+1, int64(cap(d.win))/d.pageSize)
	d.win, d.win0 = d.win[:n*d.pageSize], pg
	if _, err := d.r.ReadAt(d.win, (pg-1)*d.pageSize); err != nil {
		d.win = d.win[:0]
		return nil, fmt.Errorf("sqlite page %d: %w", pg, noEOF(err))
	}
	return d.win[:d.pageSize], nil
}

// mark records that page pg is being read, and refuses a page outside the
// file or read before.
func (d *sqliteDB) mark(pg int64) error {
	if pg < 1 {
		return fmt.Errorf("sqlite page number %d is invalid", pg)
	}
	if pg > d.pages {
		return fmt.Errorf("sqlite page %d outside the database's %d pages: %w", pg, d.pages, ErrTruncated)
	}
	w, bit := pg/64, uint64(1)<<(pg%64)
	if w >= int64(len(d.seen)) {
		return fmt.Errorf("sqlite page %d is neither in the file's %d pages nor in the write-ahead log: %w", pg, d.filePages, ErrTruncated)
	}
	if d.seen[w]&bit != 0 {
		return fmt.Errorf("sqlite page %d is reached twice (a loop or a page in two places)", pg)
	}
	d.seen[w] |= bit
	return nil
}

// assemble returns the whole record of c, following its overflow chain,
// in a buffer reused by the next call.
func (d *sqliteDB) assemble(c leafCell) ([]byte, error) {
	if int64(len(c.local)) == c.size {
		return c.local, nil
	}
	if int64(cap(d.payload)) < c.size {
		d.payload = make([]byte, 0, c.size)
	}
	p := append(d.payload[:0], c.local...)
	d.payload = p
	per := d.usable - 4 // record bytes on an overflow page
	for pg := c.first; int64(len(p)) < c.size; {
		if pg == 0 {
			return nil, fmt.Errorf("overflow chain ends %d bytes short of the record's %d", c.size-int64(len(p)), c.size)
		}
		if pg > d.pages {
			return nil, fmt.Errorf("overflow page %d outside the file's %d pages: %w", pg, d.pages, ErrTruncated)
		}
		if err := d.mark(pg); err != nil {
			return nil, fmt.Errorf("overflow chain: %w", err)
		}
		// The pages this record still needs, if the chain runs on in
		// file order as it does when a record is written at once.
		page, err := d.page(pg, (c.size-int64(len(p))+per-1)/per)
		if err != nil {
			return nil, fmt.Errorf("overflow chain: %w", err)
		}
		n := min(per, c.size-int64(len(p)))
		p = append(p, page[4:4+n]...)
		pg = int64(binary.BigEndian.Uint32(page))
	}
	return p, nil
}

// field is a column of a record: its serial type and, once read, its
// content.
type field struct {
	typ  uint64
	data []byte
}

// int returns the value of an integer field, 0 for any other.
func (f field) int() int64 {
	switch f.typ {
	case 1, 2, 3, 4, 5, 6:
		var v int64
		if len(f.data) > 0 && f.data[0]&0x80 != 0 {
			v = -1
		}
		for _, c := range f.data {
			v = v<<8 | int64(c)
		}
		return v
	case 9:
		return 1
	}
	return 0
}

// serialSize is the length of a field of serial type t, or -1 for the
// reserved types.
func serialSize(t uint64) int64 {
	switch {
	case t <= 4:
		return int64(t)
	case t == 5:
		return 6
	case t == 6 || t == 7:
		return 8
	case t == 8 || t == 9:
		return 0
	case t >= 12:
		return int64((t - 12) / 2)
	}
	return -1
}

// recordLayout reads the header of the record starting p — p may end
// before the record's fields do — and fills in the serial types of the
// first len(f) fields, and in offs where each starts. A record with fewer
// fields is an error.
func recordLayout(p []byte, f []field, offs []int64) error {
	hlen, n := uvarint(p)
	if n == 0 || hlen < uint64(n) || hlen > uint64(len(p)) {
		return fmt.Errorf("record header of %d bytes is invalid or not on the page", hlen)
	}
	h := p[n:hlen]
	off := int64(hlen)
	for i := range f {
		t, k := uvarint(h)
		if k == 0 {
			return fmt.Errorf("record has %d fields, want %d", i, len(f))
		}
		h = h[k:]
		s := serialSize(t)
		if s < 0 {
			return fmt.Errorf("field %d has the reserved serial type %d", i, t)
		}
		f[i].typ, offs[i] = t, off
		if off += s; off < 0 || off > 1<<40 {
			return fmt.Errorf("field %d of %d bytes is too large", i, s)
		}
	}
	return nil
}

// record parses the whole record p into f.
func record(p []byte, f []field) error {
	var offs [5]int64
	if len(f) > len(offs) {
		return fmt.Errorf("record: %d fields asked for, at most %d", len(f), len(offs))
	}
	if err := recordLayout(p, f, offs[:len(f)]); err != nil {
		return err
	}
	for i := range f {
		end := offs[i] + serialSize(f[i].typ)
		if end > int64(len(p)) {
			return fmt.Errorf("field %d ends past the record's %d bytes", i, len(p))
		}
		f[i].data = p[offs[i]:end]
	}
	return nil
}

// uvarint decodes SQLite's big-endian variable-length integer at the
// start of b: up to 8 bytes of 7 bits with the high bit set, then a last
// byte of 7 bits or, as the ninth, of 8. n is 0 when b ends first.
func uvarint(b []byte) (v uint64, n int) {
	for i := 0; i < 9 && i < len(b); i++ {
		if i == 8 {
			return v<<8 | uint64(b[i]), 9
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
