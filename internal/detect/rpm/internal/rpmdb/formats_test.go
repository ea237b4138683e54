package rpmdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"strings"
	"testing"
	"time"
)

// bdbFile builds a Berkeley DB hash database the way rpm's Packages is laid
// out: a metadata page, one hash page of key/value pairs (keys are 4-byte
// header numbers, with rpm's counter record under key 0), and overflow
// page chains for values larger than a quarter page.
type bdbFile struct {
	order    binary.ByteOrder
	pageSize int
	pages    [][]byte
}

func makeBDB(order orderer, pageSize int, values ...[]byte) []byte {
	f := &bdbFile{order: order, pageSize: pageSize}
	meta := f.page(bdbHashMetaType)
	f.page(bdbHashType)
	order.PutUint32(meta[12:], bdbHashMagic)
	order.PutUint32(meta[16:], 9) // hash version
	order.PutUint32(meta[20:], uint32(pageSize))

	type item []byte
	items := []item{keyItem(order, 0), append([]byte{bdbItemKeyData}, order.AppendUint32(nil, uint32(len(values)+1))...)}
	for i, v := range values {
		items = append(items, keyItem(order, uint32(i+1)))
		if len(v)+1 <= pageSize/4 {
			items = append(items, append([]byte{bdbItemKeyData}, v...))
			continue
		}
		ref := make([]byte, bdbOffPageSize)
		ref[0] = bdbItemOffPage
		order.PutUint32(ref[4:], uint32(f.overflow(v)))
		order.PutUint32(ref[8:], uint32(len(v)))
		items = append(items, ref)
	}
	hash := f.pages[1]
	top := pageSize
	for i, it := range items {
		top -= len(it)
		if top < bdbPageHeader+2*len(items) {
			panic("makeBDB: too many items for one page")
		}
		copy(hash[top:], it)
		order.PutUint16(hash[bdbPageHeader+2*i:], uint16(top))
	}
	order.PutUint16(hash[20:], uint16(len(items)))
	order.PutUint16(hash[22:], uint16(top))
	order.PutUint32(meta[32:], uint32(len(f.pages)-1)) // last page
	return bytes.Join(f.pages, nil)
}

func keyItem(order orderer, k uint32) []byte {
	return append([]byte{bdbItemKeyData}, order.AppendUint32(nil, k)...)
}

func (f *bdbFile) page(typ byte) []byte {
	p := make([]byte, f.pageSize)
	f.order.PutUint32(p[8:], uint32(len(f.pages)))
	p[25] = typ
	f.pages = append(f.pages, p)
	return p
}

// overflow stores v on a chain of overflow pages and returns the first.
func (f *bdbFile) overflow(v []byte) int {
	first := len(f.pages)
	room := f.pageSize - bdbPageHeader
	for len(v) > 0 {
		n := min(room, len(v))
		p := f.page(bdbOverflowType)
		copy(p[bdbPageHeader:], v[:n])
		f.order.PutUint16(p[22:], uint16(n))
		v = v[n:]
		if len(v) > 0 {
			f.order.PutUint32(p[16:], uint32(len(f.pages)))
		}
	}
	return first
}

// makeNDB builds an ndb Packages.db holding the blobs, as rpm writes it.
func makeNDB(blobs ...[]byte) []byte {
	le := binary.LittleEndian
	out := make([]byte, ndbSlotPage)
	le.PutUint32(out[0:], ndbHeaderMagic)
	le.PutUint32(out[12:], 1) // slot pages
	for off := ndbHeaderSize; off < ndbSlotPage; off += ndbSlotSize {
		le.PutUint32(out[off:], ndbSlotMagic)
	}
	for i, b := range blobs {
		blkCnt := (ndbBlobHead + len(b) + ndbBlobTail + ndbBlockSize - 1) / ndbBlockSize
		blk := make([]byte, blkCnt*ndbBlockSize)
		le.PutUint32(blk[0:], ndbBlobMagic)
		le.PutUint32(blk[4:], uint32(i+1))
		le.PutUint32(blk[8:], 1700000000)
		le.PutUint32(blk[12:], uint32(len(b)))
		copy(blk[ndbBlobHead:], b)
		tail := blk[len(blk)-ndbBlobTail:]
		le.PutUint32(tail[0:], adler32.Checksum(blk[:len(blk)-ndbBlobTail]))
		le.PutUint32(tail[4:], uint32(len(b)))
		le.PutUint32(tail[8:], ndbTailMagic)

		slot := out[ndbHeaderSize+i*ndbSlotSize:]
		le.PutUint32(slot[4:], uint32(i+1))
		le.PutUint32(slot[8:], uint32(len(out)/ndbBlockSize))
		le.PutUint32(slot[12:], uint32(blkCnt))
		out = append(out, blk...)
	}
	return out
}

// readBytes reads a database held in memory with the reader for its
// format, returning the packages and the errors.
func readBytes(data []byte) ([]Package, []error) {
	var seq func(func(Record, error) bool)
	switch {
	case IsNDB(data):
		seq = NDB(bytes.NewReader(data), int64(len(data)))
	case IsBDB(data):
		seq = BDB(bytes.NewReader(data), int64(len(data)))
	default:
		return nil, []error{fmt.Errorf("unknown format")}
	}
	var pkgs []Package
	var errs []error
	for rec, err := range seq {
		if err == nil {
			var p Package
			if p, err = ParseHeader(rec.Blob); err == nil {
				pkgs = append(pkgs, p)
				continue
			}
		}
		errs = append(errs, err)
	}
	return pkgs, errs
}

// testHeaders returns n package headers; every third one is small enough
// to be stored on a Berkeley DB hash page rather than on overflow pages.
func testHeaders(n int) ([][]byte, []string) {
	var blobs [][]byte
	var names []string
	for i := range n {
		name := fmt.Sprintf("pkg%d", i)
		e := []hdrEntry{str(tagName, name), str(tagVersion, "1.0"), str(tagRelease, fmt.Sprint(i))}
		if i%3 != 0 {
			// A big header, spanning several overflow pages.
			e = append(e, str(tagVendor, "AO Kaspersky Lab"), str(1005, strings.Repeat("description ", 100*i)))
		}
		blobs = append(blobs, makeHeader(e...))
		names = append(names, name)
	}
	return blobs, names
}

func names(pkgs []Package) []string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.Name)
	}
	return s
}

func TestBDBSynthetic(t *testing.T) {
	blobs, want := testHeaders(7)
	for _, order := range []orderer{binary.LittleEndian, binary.BigEndian} {
		for _, pageSize := range []int{512, 4096} {
			t.Run(fmt.Sprintf("%v/%d", order, pageSize), func(t *testing.T) {
				data := makeBDB(order, pageSize, blobs...)
				pkgs, errs := readBytes(data)
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				if got := names(pkgs); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("got %v, want %v", got, want)
				}
			})
		}
	}
}

func TestNDBSynthetic(t *testing.T) {
	blobs, want := testHeaders(7)
	pkgs, errs := readBytes(makeNDB(blobs...))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := names(pkgs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestBDBDamage: damaged structures give errors naming the place, the
// intact records are still read, and nothing loops (go-rpmdb v0.1.1 spins
// forever on an overflow chain that reaches a page of another type).
func TestBDBDamage(t *testing.T) {
	blobs, _ := testHeaders(3) // pkg0 on the hash page, pkg1 and pkg2 on overflow chains
	const ps = 512
	le := binary.LittleEndian
	good := makeBDB(le, ps, blobs...)
	// Page numbers: 0 meta, 1 hash, 2.. pkg1's chain, then pkg2's chain.
	chain1 := 2
	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		wantErr string
		wantOK  int // packages still read
	}{
		{"chain loops", func(b []byte) []byte {
			le.PutUint32(b[(chain1+1)*ps+16:], uint32(chain1))
			return b
		}, "more than fit", 2},
		{"chain reaches a hash page", func(b []byte) []byte {
			le.PutUint32(b[chain1*ps+16:], 1)
			return b
		}, "want overflow", 2},
		{"chain leaves the file", func(b []byte) []byte {
			le.PutUint32(b[chain1*ps+16:], 1<<30)
			return b
		}, "outside the file", 2},
		{"overflow page claims too much", func(b []byte) []byte {
			le.PutUint16(b[chain1*ps+22:], ps)
			return b
		}, "more than fit", 2},
		{"item count too large", func(b []byte) []byte {
			le.PutUint16(b[ps+20:], 1000)
			return b
		}, "do not fit", 0},
		{"item offset wrong", func(b []byte) []byte {
			le.PutUint16(b[ps+bdbPageHeader+2*3:], 3) // pkg0's value, which bounds pkg1's key
			return b
		}, "bad offsets", 1},
		{"truncated mid-file", func(b []byte) []byte {
			return b[:len(b)-ps]
		}, "truncated", 2},
		{"bad page size", func(b []byte) []byte {
			le.PutUint32(b[20:], 1000)
			return b
		}, "page size", 0},
		{"encrypted", func(b []byte) []byte {
			b[24] = 1
			return b
		}, "encrypted", 0},
		{"not a hash database", func(b []byte) []byte {
			b[25] = 9 // P_BTREEMETA
			return b
		}, "want hash metadata", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var pkgs []Package
			var errs []error
			go func() {
				defer close(done)
				pkgs, errs = readBytes(tc.damage(bytes.Clone(good)))
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("reading did not finish")
			}
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			if !strings.Contains(fmt.Sprint(errs), tc.wantErr) {
				t.Errorf("errors %v, want one containing %q", errs, tc.wantErr)
			}
			if len(pkgs) != tc.wantOK {
				t.Errorf("read %d packages %v, want %d", len(pkgs), names(pkgs), tc.wantOK)
			}
		})
	}
}

func TestNDBDamage(t *testing.T) {
	blobs, _ := testHeaders(3)
	good := makeNDB(blobs...)
	le := binary.LittleEndian
	slot := func(i int) int { return ndbHeaderSize + i*ndbSlotSize }
	blobAt := func(b []byte, i int) int { return int(le.Uint32(b[slot(i)+8:])) * ndbBlockSize }
	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		wantErr string
		wantOK  int
	}{
		{"checksum", func(b []byte) []byte { b[blobAt(b, 1)+ndbBlobHead+20]++; return b }, "checksum", 2},
		{"blob of another package", func(b []byte) []byte { le.PutUint32(b[blobAt(b, 1)+4:], 9); return b }, "belongs to package 9", 2},
		{"blob magic", func(b []byte) []byte { b[blobAt(b, 1)]++; return b }, "bad blob magic", 2},
		{"blob length", func(b []byte) []byte { le.PutUint32(b[blobAt(b, 1)+12:], 1<<20); return b }, "does not match", 2},
		{"tail", func(b []byte) []byte { b[blobAt(b, 2)-1]++; return b }, "bad blob tail", 2},
		{"slot magic", func(b []byte) []byte { b[slot(0)]++; return b }, "bad magic", 2},
		{"blob outside the file", func(b []byte) []byte { le.PutUint32(b[slot(2)+8:], 1<<28); return b }, "outside the file", 2},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }, "outside the file", 2},
		{"slot pages missing", func(b []byte) []byte { return b[:1000] }, "truncated", 0},
		{"too many slot pages", func(b []byte) []byte { le.PutUint32(b[12:], 1<<30); return b }, "slot pages", 0},
		{"version", func(b []byte) []byte { le.PutUint32(b[4:], 3); return b }, "version 3", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkgs, errs := readBytes(tc.damage(bytes.Clone(good)))
			if !strings.Contains(fmt.Sprint(errs), tc.wantErr) {
				t.Errorf("errors %v, want one containing %q", errs, tc.wantErr)
			}
			if len(pkgs) != tc.wantOK {
				t.Errorf("read %d packages %v, want %d", len(pkgs), names(pkgs), tc.wantOK)
			}
		})
	}
}

// TestEarlyStop: a consumer that stops early leaves no reader behind (they
// run in the caller's goroutine, so there is nothing to leak).
func TestEarlyStop(t *testing.T) {
	blobs, _ := testHeaders(5)
	for name, data := range map[string][]byte{
		"bdb": makeBDB(binary.LittleEndian, 4096, blobs...),
		"ndb": makeNDB(blobs...),
	} {
		seq := BDB
		if name == "ndb" {
			seq = NDB
		}
		n := 0
		for _, err := range seq(bytes.NewReader(data), int64(len(data))) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n++
			break
		}
		if n != 1 {
			t.Errorf("%s: %d records", name, n)
		}
	}
}

// orderer is a byte order that can also append.
type orderer interface {
	binary.ByteOrder
	binary.AppendByteOrder
}
