package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/hostile"
)

// readSQLite reads every record of data with the page reader, reading
// size bytes (zeros past data, as a sparse file).
func readSQLite(data []byte, size int64) (blobs [][]byte, locs []string, errs []error) {
	for rec, err := range SQLite(sparse(data), size) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		blobs = append(blobs, bytes.Clone(rec.Blob))
		locs = append(locs, rec.Loc)
	}
	return blobs, locs, errs
}

// sparse reads as data followed by zeros.
type sparse []byte

func (s sparse) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(s)) {
		copy(p, s[off:])
	}
	return len(p), nil
}

func TestSQLiteRoundTrip(t *testing.T) {
	blobs, _ := testHeaders(7)
	for _, size := range []int{1024, 4096, 65536} {
		db := hostile.SQLite(size, blobs...)
		got, locs, errs := readSQLite(db, int64(len(db)))
		if len(errs) > 0 || len(got) != len(blobs) {
			t.Fatalf("page size %d: %d records, %v", size, len(got), errs)
		}
		for i := range blobs {
			if !bytes.Equal(got[i], blobs[i]) || locs[i] != "sqlite package "+strconv.Itoa(i+1) {
				t.Errorf("page size %d: record %d (%s) differs", size, i, locs[i])
			}
		}
	}
	if got, _, errs := readSQLite(hostile.SQLite(1024), 2048); len(got) != 0 || len(errs) != 0 {
		t.Errorf("empty database: %d records, %v", len(got), errs)
	}
}

// TestSQLiteHostile damages a database made by hostile.SQLite at known
// places: every case ends quickly with an error saying what is wrong.
func TestSQLiteHostile(t *testing.T) {
	const ps = 1024
	be := binary.BigEndian
	blobs := [][]byte{hostile.KESLHeader(), bytes.Repeat([]byte{'x'}, 2<<20), hostile.KESLHeader()}
	leaf2 := hostile.SQLiteLeaf(ps, blobs, 2) // the record with overflow pages
	page := func(db []byte, pg int) []byte { return db[(pg-1)*ps : pg*ps] }
	// cell returns where the only cell of a leaf page starts.
	cell := func(db []byte, pg int) []byte { p := page(db, pg); return p[be.Uint16(p[8:]):] }

	tests := []struct {
		name    string
		damage  func(db []byte) []byte
		size    int64 // 0: the data's
		records int   // read before or despite the damage
		says    string
		is      error
	}{
		{"root points to itself", func(db []byte) []byte {
			be.PutUint32(page(db, 2)[8:], 2)
			return db
		}, 0, 2, "sqlite page 2 is reached twice", nil},
		{"overflow page points to itself", func(db []byte) []byte {
			ov := page(db, leaf2+1)
			be.PutUint32(ov, uint32(leaf2+1))
			return db
		}, 0, 2, "sqlite package 2: overflow chain: sqlite page " + strconv.Itoa(leaf2+1) + " is reached twice", nil},
		{"overflow chain into a b-tree page", func(db []byte) []byte {
			be.PutUint32(page(db, leaf2+1), 2)
			return db
		}, 0, 2, "sqlite package 2: overflow chain: sqlite page 2 is reached twice", nil},
		{"overflow chain ends early", func(db []byte) []byte {
			be.PutUint32(page(db, leaf2+1), 0)
			return db
		}, 0, 2, "sqlite package 2: overflow chain ends", nil},
		{"overflow chain past the file", func(db []byte) []byte {
			be.PutUint32(page(db, leaf2+1), 1<<30)
			return db
		}, 0, 2, "sqlite package 2: overflow page 1073741824 outside the file's", ErrTruncated},
		{"record size varint of nine 0xff bytes", func(db []byte) []byte {
			copy(cell(db, leaf2), bytes.Repeat([]byte{0xff}, 9))
			return db
		}, 0, 1, "record of 18446744073709551615 bytes is larger than the file", ErrTruncated},
		{"record size varint running off the page", func(db []byte) []byte {
			p := page(db, leaf2)
			be.PutUint16(p[8:], ps-3)
			copy(p[ps-3:], []byte{0xff, 0xff, 0xff})
			return db
		}, 0, 1, "bad record size varint", nil},
		{"blob claiming 100 MiB", func(db []byte) []byte {
			// The record header's serial type of the blob, a 4-byte varint.
			c := cell(db, leaf2)
			_, n := uvarint(c)
			_, m := uvarint(c[n:])
			const v = 12 + 2*100<<20
			copy(c[n+m+2:], []byte{v>>21&0x7f | 0x80, v>>14&0x7f | 0x80, v>>7&0x7f | 0x80, v & 0x7f})
			return db
		}, 0, 2, "sqlite package 2: header of 104857600 bytes: over the 64 MiB limit", ErrTooLarge},
		{"record claiming 200 MB in a sparse 2 GiB file", func(db []byte) []byte {
			// The record's size, a 4-byte varint, claims more overflow
			// pages and as much on the leaf page.
			c := cell(db, leaf2)
			v, _ := uvarint(c)
			v += (ps - 4) * 200000
			copy(c, []byte{byte(v>>21&0x7f | 0x80), byte(v>>14&0x7f | 0x80), byte(v>>7&0x7f | 0x80), byte(v & 0x7f)})
			return db
		}, 2 << 30, 2, "sqlite package 2: record of 206097158 bytes: over the 64 MiB limit", ErrTooLarge},
		{"cell pointer outside the page", func(db []byte) []byte {
			be.PutUint16(page(db, leaf2)[8:], 0xffff)
			return db
		}, 0, 1, "sqlite page " + strconv.Itoa(leaf2) + " cell 0: offset 65535 is outside the page's cells", nil},
		{"too many cells", func(db []byte) []byte {
			be.PutUint16(page(db, 2)[3:], 5000)
			return db
		}, 0, 0, "sqlite page 2: 5000 cells do not fit the page", nil},
		{"leaf of an unknown type", func(db []byte) []byte {
			page(db, leaf2)[0] = 7
			return db
		}, 0, 1, "has type 7, want a table b-tree page", nil},
		{"child page 0", func(db []byte) []byte {
			be.PutUint32(page(db, 2)[8:], 0)
			return db
		}, 0, 2, "sqlite page number 0 is invalid", nil},
		{"truncated after the schema", func(db []byte) []byte {
			return db[:ps+ps/2]
		}, 0, 0, "sqlite Packages table at page 2 outside the file's 1 pages", ErrTruncated},
		{"truncated in a chain", func(db []byte) []byte {
			return db[:leaf2*ps]
		}, 0, 1, "record of 2097158 bytes is larger than the file", ErrTruncated},
		{"not rpm's table", func(db []byte) []byte {
			i := bytes.Index(db, []byte(",blob BLOB"))
			copy(db[i:], ",data BLOB")
			return db
		}, 0, 0, "is not rpm's", ErrUnsupported},
		{"UTF-16", func(db []byte) []byte {
			be.PutUint32(db[56:], 2)
			return db
		}, 0, 0, "sqlite text encoding 2", ErrUnsupported},
		{"page size 300", func(db []byte) []byte {
			be.PutUint16(db[16:], 300)
			return db
		}, 0, 0, "sqlite page size 300 is invalid", nil},
		{"no magic", func(db []byte) []byte {
			db[0] = 'Q'
			return db
		}, 0, 0, "not an sqlite database", nil},
		{"header cut short", func(db []byte) []byte {
			return db[:50]
		}, 0, 0, "sqlite header: unexpected EOF", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := tt.damage(hostile.SQLite(ps, blobs...))
			size := tt.size
			if size == 0 {
				size = int64(len(db))
			}
			var r io.ReaderAt = bytes.NewReader(db)
			if tt.size != 0 {
				r = sparse(db)
			}
			start := time.Now()
			n := 0
			var errs []error
			for rec, err := range SQLite(r, size) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				k, _ := strconv.Atoi(strings.TrimPrefix(rec.Loc, "sqlite package "))
				if k < 1 || k > len(blobs) || !bytes.Equal(rec.Blob, blobs[k-1]) {
					t.Errorf("record %s differs", rec.Loc)
				}
				n++
			}
			err := errors.Join(errs...)
			t.Logf("%d records, %v in %s", n, err, time.Since(start))
			if n != tt.records {
				t.Errorf("%d records, want %d", n, tt.records)
			}
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %v, want one saying %q", err, tt.says)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}

// A b-tree of interior pages each pointing to the next goes no deeper
// than 64 levels.
func TestSQLiteDeepTree(t *testing.T) {
	const ps, depth = 512, 200
	db := hostile.SQLite(ps)
	db = append(db, make([]byte, depth*ps)...)
	for pg := 2; pg < 2+depth; pg++ {
		p := db[(pg-1)*ps:]
		p[0] = 5 // interior table page, no cells
		binary.BigEndian.PutUint32(p[8:], uint32(pg+1))
	}
	_, _, errs := readSQLite(db, int64(len(db)))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "deeper than 64 levels") {
		t.Errorf("errs = %v, want the depth limit", errs)
	}
}

func FuzzSQLite(f *testing.F) {
	blobs, _ := testHeaders(3)
	f.Add(hostile.SQLite(1024, blobs...))
	f.Add(hostile.SQLite(512, hostile.KESLHeader(), hostile.RPMHeaderClaims(64, 8192)))
	f.Add(hostile.SQLite(1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		blobs, _, _ := readSQLite(data, int64(len(data)))
		for _, b := range blobs {
			if p, err := ParseHeader(b); err == nil && p.Name == "" {
				t.Fatal("a package without a name")
			}
		}
	})
}

// TestSQLiteMutations reads a few thousand randomly damaged copies of a
// database: the fuzz target's property, on a fixed sample, in every test
// run.
func TestSQLiteMutations(t *testing.T) {
	blobs, _ := testHeaders(3)
	base := hostile.SQLite(1024, blobs...)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		b := bytes.Clone(base)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		}
		got, _, _ := readSQLite(b[:len(b)-rng.IntN(2)*rng.IntN(len(b))], int64(len(b)))
		for _, blob := range got {
			if p, err := ParseHeader(blob); err == nil && p.Name == "" {
				t.Fatal("a package without a name")
			}
		}
	}
}
