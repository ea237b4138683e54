package rpmdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"iter"
)

// rpm's "ndb" package database (lib/backend/ndb/rpmpkg.c), used by SUSE for
// Packages.db: a 32-byte header, then slot pages of 16-byte slots, each
// pointing at a blob of 16-byte blocks made of a blob header, the package
// header, padding, and a tail carrying an Adler-32 checksum. Everything is
// little-endian.
const (
	ndbHeaderMagic = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic   = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic   = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbTailMagic   = 'B' | 'l'<<8 | 'b'<<16 | 'E'<<24
	ndbVersion     = 0
	ndbHeaderSize  = 32
	ndbSlotSize    = 16
	ndbSlotPage    = 4096
	ndbBlockSize   = 16
	ndbBlobHead    = 16
	ndbBlobTail    = 12
	ndbMaxPages    = 2048 // rpm's own sanity limit on slot pages
)

// IsNDB reports whether head, the start of a file, is an ndb database.
func IsNDB(head []byte) bool {
	return len(head) >= 4 && binary.LittleEndian.Uint32(head) == ndbHeaderMagic
}

// NDB yields the header blob of every package in an ndb database read
// from r (size bytes long). A damaged package yields an error and reading
// goes on with the next; a damaged file structure yields an error and ends
// the sequence. Unlike rpm, it takes no lock on the file.
func NDB(r io.ReaderAt, size int64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		hdr := make([]byte, ndbHeaderSize)
		if _, err := r.ReadAt(hdr, 0); err != nil {
			yield(Record{}, fmt.Errorf("ndb header: %w", noEOF(err)))
			return
		}
		le := binary.LittleEndian
		if le.Uint32(hdr[0:]) != ndbHeaderMagic {
			yield(Record{}, errors.New("not an ndb database (bad magic)"))
			return
		}
		if v := le.Uint32(hdr[4:]); v != ndbVersion {
			yield(Record{}, fmt.Errorf("ndb version %d is not supported", v))
			return
		}
		npages := int64(le.Uint32(hdr[12:]))
		if npages < 1 || npages > ndbMaxPages {
			yield(Record{}, fmt.Errorf("ndb has %d slot pages (want 1 to %d)", npages, ndbMaxPages))
			return
		}
		if npages*ndbSlotPage > size {
			yield(Record{}, fmt.Errorf("ndb truncated: %d slot pages need %d bytes, file has %d", npages, npages*ndbSlotPage, size))
			return
		}
		slots := make([]byte, npages*ndbSlotPage)
		if _, err := r.ReadAt(slots, 0); err != nil {
			yield(Record{}, fmt.Errorf("ndb slot pages: %w", noEOF(err)))
			return
		}
		var buf []byte // reused for each blob
		// The first two slots' worth of bytes are the file header.
		for off := int64(ndbHeaderSize); off < int64(len(slots)); off += ndbSlotSize {
			s := slots[off : off+ndbSlotSize]
			slot := (off - ndbHeaderSize) / ndbSlotSize
			if le.Uint32(s[0:]) != ndbSlotMagic {
				if !yield(Record{}, fmt.Errorf("ndb slot %d: bad magic", slot)) {
					return
				}
				continue
			}
			pkgIdx := le.Uint32(s[4:])
			if pkgIdx == 0 {
				continue // free slot
			}
			var blob []byte
			var err error
			blob, buf, err = ndbBlob(r, size, buf, pkgIdx, int64(le.Uint32(s[8:])), int64(le.Uint32(s[12:])))
			if err != nil {
				err = fmt.Errorf("ndb slot %d (package %d): %w", slot, pkgIdx, err)
			}
			if !yield(Record{Blob: blob, Loc: fmt.Sprintf("ndb slot %d (package %d)", slot, pkgIdx)}, err) {
				return
			}
		}
	}
}

// ndbBlob reads and verifies the blob of package pkgIdx stored in blkCnt
// blocks from block blkOff. It reads into buf when it is large enough and
// returns the buffer used, for the next call.
func ndbBlob(r io.ReaderAt, size int64, buf []byte, pkgIdx uint32, blkOff, blkCnt int64) ([]byte, []byte, error) {
	start, end := blkOff*ndbBlockSize, (blkOff+blkCnt)*ndbBlockSize
	switch {
	case blkCnt*ndbBlockSize < ndbBlobHead+ndbBlobTail:
		return nil, buf, fmt.Errorf("blob of %d blocks is too small", blkCnt)
	case end > size:
		return nil, buf, fmt.Errorf("blob blocks %d+%d outside the file's %d bytes: %w", blkOff, blkCnt, size, ErrTruncated)
	case end-start > MaxBlob+ndbBlobHead+ndbBlobTail+ndbBlockSize:
		return nil, buf, fmt.Errorf("blob of %d bytes: %w", end-start, ErrTooLarge)
	}
	if int64(cap(buf)) < end-start {
		buf = make([]byte, end-start)
	}
	blob, err := verifyNDBBlob(r, buf[:end-start], start, pkgIdx, blkCnt)
	return blob, buf, err
}

// verifyNDBBlob reads the blocks of a blob at offset start into buf and
// returns the package header they hold.
func verifyNDBBlob(r io.ReaderAt, buf []byte, start int64, pkgIdx uint32, blkCnt int64) ([]byte, error) {
	le := binary.LittleEndian
	if _, err := r.ReadAt(buf, start); err != nil {
		return nil, noEOF(err)
	}
	if le.Uint32(buf[0:]) != ndbBlobMagic {
		return nil, errors.New("bad blob magic")
	}
	if idx := le.Uint32(buf[4:]); idx != pkgIdx {
		return nil, fmt.Errorf("blob belongs to package %d", idx)
	}
	n := int64(le.Uint32(buf[12:]))
	// The blob is followed by zero padding to a whole block and then the
	// tail; the checksum covers everything before the tail.
	if want := (ndbBlobHead + n + ndbBlobTail + ndbBlockSize - 1) / ndbBlockSize; want != blkCnt {
		return nil, fmt.Errorf("blob length %d does not match its %d blocks", n, blkCnt)
	}
	tail := buf[len(buf)-ndbBlobTail:]
	if le.Uint32(tail[8:]) != ndbTailMagic || int64(le.Uint32(tail[4:])) != n {
		return nil, errors.New("bad blob tail")
	}
	if sum := adler32.Checksum(buf[:len(buf)-ndbBlobTail]); sum != le.Uint32(tail[0:]) {
		return nil, fmt.Errorf("blob checksum %08x, tail says %08x", sum, le.Uint32(tail[0:]))
	}
	return buf[ndbBlobHead : ndbBlobHead+n], nil
}
