package hostile

import (
	"encoding/binary"
	"fmt"
)

// SQLite encodes an rpm sqlite package database (rpmdb.sqlite) holding
// blobs as packages 1, 2, … in pages of pageSize bytes (512 to 65536),
// laid out so that tests can damage it at known places:
//
//   - page 1: the 100-byte file header and the schema, a leaf holding
//     rpm's CREATE TABLE of Packages with root page 2;
//   - page 2: the Packages root, an interior page with one cell per blob
//     but the last, which is its right-most pointer ([SQLiteLeaf]);
//   - then for each blob, a leaf page holding its record, followed by the
//     record's overflow pages, chained in file order.
//
// With no blobs, page 2 is an empty leaf.
func SQLite(pageSize int, blobs ...[]byte) []byte {
	be := binary.BigEndian
	var pages [][]byte
	newPage := func() []byte {
		p := make([]byte, pageSize)
		pages = append(pages, p)
		return p
	}
	schema, root := newPage(), newPage()
	const sql = "CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)"
	rec := sqliteRecord(
		sqliteField{13 + 2*5, []byte("table")},
		sqliteField{13 + 2*8, []byte("Packages")},
		sqliteField{13 + 2*8, []byte("Packages")},
		sqliteField{1, []byte{2}},
		sqliteField{uint64(13 + 2*len(sql)), []byte(sql)},
	)
	if len(rec)+200 > pageSize {
		panic("hostile.SQLite: the schema needs a page of 1024 bytes or more")
	}
	sqliteLeaf(schema, 100, [][]byte{append(append(sqliteVarint(uint64(len(rec))), 1), rec...)})

	u := pageSize
	var leaves []int // page numbers of the leaves, in rowid order
	for i, blob := range blobs {
		rec := sqliteRecord(sqliteField{0, nil}, sqliteField{uint64(12 + 2*len(blob)), blob})
		local := len(rec)
		if x := u - 35; local > x {
			m := (u-12)*32/255 - 23
			local = m + (len(rec)-m)%(u-4)
			if local > x {
				local = m
			}
		}
		leaf := newPage()
		leaves = append(leaves, len(pages))
		cell := append(sqliteVarint(uint64(len(rec))), sqliteVarint(uint64(i+1))...)
		cell = append(cell, rec[:local]...)
		rest := rec[local:]
		if len(rest) > 0 {
			cell = be.AppendUint32(cell, uint32(len(pages)+1))
		}
		sqliteLeaf(leaf, 0, [][]byte{cell})
		for len(rest) > 0 {
			ov := newPage()
			n := copy(ov[4:], rest)
			rest = rest[n:]
			if len(rest) > 0 {
				be.PutUint32(ov, uint32(len(pages)+1))
			}
		}
	}
	if len(leaves) == 0 {
		sqliteLeaf(root, 0, nil)
	} else {
		root[0] = 5 // interior table page
		n := len(leaves) - 1
		be.PutUint16(root[3:], uint16(n))
		be.PutUint32(root[8:], uint32(leaves[n]))
		end := pageSize
		for i := range n {
			cell := be.AppendUint32(nil, uint32(leaves[i]))
			cell = append(cell, sqliteVarint(uint64(i+1))...)
			end -= len(cell)
			copy(root[end:], cell)
			be.PutUint16(root[12+2*i:], uint16(end))
		}
		be.PutUint16(root[5:], uint16(end))
	}

	h := schema[:100]
	copy(h, "SQLite format 3\x00")
	if pageSize == 65536 {
		be.PutUint16(h[16:], 1)
	} else {
		be.PutUint16(h[16:], uint16(pageSize))
	}
	h[18], h[19] = 1, 1 // legacy (rollback journal) file format
	h[21], h[22], h[23] = 64, 32, 32
	be.PutUint32(h[24:], 1)                  // change counter
	be.PutUint32(h[28:], uint32(len(pages))) // pages
	be.PutUint32(h[40:], 1)                  // schema cookie
	be.PutUint32(h[44:], 4)                  // schema format
	be.PutUint32(h[56:], 1)                  // UTF-8
	be.PutUint32(h[92:], 1)                  // version-valid-for: the change counter
	be.PutUint32(h[96:], 3046000)            // SQLite 3.46.0
	out := make([]byte, 0, len(pages)*pageSize)
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

// SQLiteLeaf returns the page number of the leaf holding package i (from
// 1) in a database made by [SQLite] with pageSize and blobs.
func SQLiteLeaf(pageSize int, blobs [][]byte, i int) int {
	pg := 3
	for _, b := range blobs[:i-1] {
		pg += 1 + sqliteOverflowPages(pageSize, len(b))
	}
	return pg
}

// sqliteOverflowPages is how many overflow pages the record of a blob of
// n bytes takes.
func sqliteOverflowPages(pageSize, n int) int {
	size := len(sqliteRecord(sqliteField{0, nil}, sqliteField{uint64(12 + 2*n), make([]byte, n)}))
	u := pageSize
	local := size
	if x := u - 35; local > x {
		m := (u-12)*32/255 - 23
		local = m + (size-m)%(u-4)
		if local > x {
			local = m
		}
	}
	return (size - local + u - 5) / (u - 4)
}

// sqliteLeaf writes a table leaf page header at off of page, and cells
// from the page's end.
func sqliteLeaf(page []byte, off int, cells [][]byte) {
	be := binary.BigEndian
	page[off] = 13
	be.PutUint16(page[off+3:], uint16(len(cells)))
	end := len(page)
	for i, c := range cells {
		end -= len(c)
		if end < off+8+2*len(cells) {
			panic(fmt.Sprintf("hostile.SQLite: %d cells overflow the page", len(cells)))
		}
		copy(page[end:], c)
		be.PutUint16(page[off+8+2*i:], uint16(end))
	}
	be.PutUint16(page[off+5:], uint16(end))
}

type sqliteField struct {
	typ  uint64 // SQLite serial type
	data []byte
}

// sqliteRecord encodes an SQLite record: a header of serial types, then
// the fields.
func sqliteRecord(fields ...sqliteField) []byte {
	var types []byte
	for _, f := range fields {
		types = append(types, sqliteVarint(f.typ)...)
	}
	// The header's length counts its own varint (one byte here).
	out := append(sqliteVarint(uint64(len(types)+1)), types...)
	for _, f := range fields {
		out = append(out, f.data...)
	}
	return out
}

// sqliteVarint encodes v as SQLite's big-endian varint (values below
// 2^56 only, which is all a test needs).
func sqliteVarint(v uint64) []byte {
	if v >= 1<<56 {
		panic("hostile.sqliteVarint: value too large")
	}
	var b []byte
	for {
		b = append([]byte{byte(v & 0x7f)}, b...)
		v >>= 7
		if v == 0 {
			break
		}
	}
	for i := range len(b) - 1 {
		b[i] |= 0x80
	}
	return b
}
