package rpmdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Berkeley DB hash database layout (libdb src/dbinc/db_page.h), as used by
// rpm ≤ 4.15 for var/lib/rpm/Packages: page 0 is the hash metadata page;
// hash pages hold key/value item pairs; package headers, being large, sit
// on chains of overflow pages that a value item points to.
const (
	bdbHashMagic     = 0x00061561
	bdbPageHeader    = 26 // every page starts with this header
	bdbHashMetaType  = 8  // P_HASHMETA
	bdbHashUnsorted  = 2  // P_HASH_UNSORTED, hash pages before libdb 4.6
	bdbHashType      = 13 // P_HASH
	bdbOverflowType  = 7  // P_OVERFLOW
	bdbItemKeyData   = 1  // H_KEYDATA: the item is stored on the page
	bdbItemOffPage   = 3  // H_OFFPAGE: the item is on overflow pages
	bdbOffPageSize   = 12 // an H_OFFPAGE item: type, 3 unused, pgno, tlen
	bdbMetaMinLength = 72 // through the hash metadata fields used here
)

// IsBDB reports whether head, the start of a file, is a Berkeley DB hash
// database in either byte order.
func IsBDB(head []byte) bool {
	if len(head) < 16 {
		return false
	}
	return binary.LittleEndian.Uint32(head[12:16]) == bdbHashMagic ||
		binary.BigEndian.Uint32(head[12:16]) == bdbHashMagic
}

// BDB yields the value of every record of a Berkeley DB hash database
// read from r (size bytes long): for rpm's Packages, one header blob per
// package. A damaged record yields an error and reading goes on with the
// next; a damaged file structure yields an error and ends the sequence.
// The file is only read, never locked.
func BDB(r io.ReaderAt, size int64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		meta := make([]byte, bdbMetaMinLength)
		if _, err := r.ReadAt(meta, 0); err != nil {
			yield(Record{}, fmt.Errorf("berkeley db metadata: %w", noEOF(err)))
			return
		}
		var order binary.ByteOrder = binary.LittleEndian
		if order.Uint32(meta[12:16]) != bdbHashMagic {
			order = binary.BigEndian
			if order.Uint32(meta[12:16]) != bdbHashMagic {
				yield(Record{}, errors.New("not a berkeley db hash database (bad magic)"))
				return
			}
		}
		pageSize := int64(order.Uint32(meta[20:24]))
		if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
			yield(Record{}, fmt.Errorf("berkeley db page size %d is invalid", pageSize))
			return
		}
		if meta[24] != 0 {
			yield(Record{}, fmt.Errorf("berkeley db is encrypted (algorithm %d)", meta[24]))
			return
		}
		if meta[25] != bdbHashMetaType {
			yield(Record{}, fmt.Errorf("berkeley db metadata page has type %d, want hash metadata", meta[25]))
			return
		}
		lastPage := int64(order.Uint32(meta[32:36]))
		pages := size / pageSize
		var truncated error
		if lastPage >= pages {
			truncated = fmt.Errorf("berkeley db truncated: metadata says %d pages, file holds %d", lastPage+1, pages)
			lastPage = pages - 1
		}
		d := bdb{r: r, order: order, pageSize: pageSize, pages: pages}
		page := make([]byte, pageSize)
		for pg := int64(1); pg <= lastPage; pg++ {
			if _, err := r.ReadAt(page, pg*pageSize); err != nil {
				yield(Record{}, fmt.Errorf("berkeley db page %d: %w", pg, noEOF(err)))
				return
			}
			if t := page[25]; t != bdbHashType && t != bdbHashUnsorted {
				continue
			}
			if !d.hashPage(pg, page, yield) {
				return
			}
		}
		if truncated != nil {
			yield(Record{}, truncated)
		}
	}
}

type bdb struct {
	r        io.ReaderAt
	order    binary.ByteOrder
	pageSize int64
	pages    int64  // whole pages in the file
	ovPage   []byte // an overflow page being read
	value    []byte // the value being assembled, reused between records
}

// hashPage yields the values of the key/value pairs on one hash page. It
// returns false when yield asked to stop.
func (d *bdb) hashPage(pg int64, page []byte, yield func(Record, error) bool) bool {
	n := int64(d.order.Uint16(page[20:22]))
	if bdbPageHeader+2*n > d.pageSize {
		return yield(Record{}, fmt.Errorf("berkeley db page %d: %d items do not fit the page", pg, n))
	}
	// inp[i] is the page offset of item i; items are stored from the end of
	// the page backwards, so item i ends where item i-1 begins.
	inp := func(i int64) int64 {
		return int64(d.order.Uint16(page[bdbPageHeader+2*i:]))
	}
	for i := int64(0); i+1 < n; i += 2 {
		keyOff, valOff := inp(i), inp(i+1)
		keyEnd := d.pageSize
		if i > 0 {
			keyEnd = inp(i - 1)
		}
		if valOff < bdbPageHeader+2*n || valOff >= keyOff || keyOff >= keyEnd || keyEnd > d.pageSize {
			loc := fmt.Sprintf("berkeley db page %d item %d", pg, i+1)
			if !yield(Record{Loc: loc}, fmt.Errorf("%s: bad offsets", loc)) {
				return false
			}
			continue
		}
		var blob []byte
		var err error
		switch page[valOff] {
		case bdbItemOffPage:
			if valOff+bdbOffPageSize > keyOff {
				err = errors.New("overflow reference cut short")
				break
			}
			first := int64(d.order.Uint32(page[valOff+4:]))
			length := int64(d.order.Uint32(page[valOff+8:]))
			blob, err = d.overflow(first, length)
		case bdbItemKeyData:
			// A value small enough to sit on the page. rpm keeps one such
			// record, under key 0, holding a counter rather than a header.
			key := page[keyOff:keyEnd]
			if len(key) == 5 && key[0] == bdbItemKeyData && d.order.Uint32(key[1:]) == 0 {
				continue
			}
			blob = page[valOff+1 : keyOff]
		default:
			continue // duplicate sets: rpm does not use them in Packages
		}
		if err != nil {
			err = fmt.Errorf("berkeley db page %d item %d: %w", pg, i+1, err)
		}
		if !yield(Record{Blob: blob, Loc: fmt.Sprintf("berkeley db page %d item %d", pg, i+1)}, err) {
			return false
		}
	}
	return true
}

// overflow reads a value of length bytes stored on the chain of overflow
// pages starting at page first, into a buffer reused by the next call.
func (d *bdb) overflow(first, length int64) ([]byte, error) {
	if length > d.pages*d.pageSize {
		return nil, fmt.Errorf("overflow item of %d bytes is larger than the file: %w", length, ErrTruncated)
	}
	if length > MaxBlob {
		return nil, fmt.Errorf("overflow item of %d bytes: %w", length, ErrTooLarge)
	}
	if d.ovPage == nil {
		d.ovPage = make([]byte, d.pageSize)
	}
	buf := d.ovPage
	if int64(cap(d.value)) < length {
		d.value = make([]byte, 0, length)
	}
	out := d.value[:0]
	steps := int64(0)
	for pg := first; pg != 0; steps++ {
		if pg >= d.pages {
			return nil, fmt.Errorf("overflow page %d outside the file's %d pages: %w", pg, d.pages, ErrTruncated)
		}
		if steps >= d.pages {
			return nil, fmt.Errorf("overflow chain from page %d loops", first)
		}
		if _, err := d.r.ReadAt(buf, pg*d.pageSize); err != nil {
			return nil, fmt.Errorf("overflow page %d: %w", pg, noEOF(err))
		}
		if buf[25] != bdbOverflowType {
			return nil, fmt.Errorf("page %d has type %d, want overflow", pg, buf[25])
		}
		// On an overflow page the free-area field holds the data length.
		n := int64(d.order.Uint16(buf[22:24]))
		if bdbPageHeader+n > d.pageSize || int64(len(out))+n > length {
			return nil, fmt.Errorf("overflow page %d holds %d bytes, more than fit", pg, n)
		}
		out = append(out, buf[bdbPageHeader:bdbPageHeader+n]...)
		pg = int64(d.order.Uint32(buf[16:20]))
	}
	d.value = out
	if int64(len(out)) != length {
		return nil, fmt.Errorf("overflow chain from page %d holds %d bytes, want %d", first, len(out), length)
	}
	return out, nil
}

// noEOF turns the io.EOF of a short ReadAt into an error that says so.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
