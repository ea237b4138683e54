package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// SQLite's write-ahead log (https://www.sqlite.org/fileformat.html, "The
// WAL File Format"): a 32-byte header, then frames of a 24-byte header and
// one page. A frame belongs to the log's current generation when its salts
// are the header's and the checksum that runs from the header through
// every frame matches; a frame whose "database size" is not zero ends a
// committed transaction. A reader sees, of each page, the version in the
// last valid frame up to and including the last commit frame; frames after
// it are a transaction not committed (or being written) and are ignored.
const (
	walHeaderSize  = 32
	walFrameHeader = 24
	walMagic       = 0x377f0682 // | 1: the checksums read words big-endian
	walVersion     = 3007000
	walChunk       = 256 << 10 // most bytes of frames read at once
)

// walIndex is where the committed version of each page is in a log.
type walIndex struct {
	frames map[int64]int64 // page number → offset of its content in the log
	pages  int64           // the database's size in pages at the last commit; 0 when the log has none
	header []byte          // the log's header, to notice a log restarted while it was read
}

// readWAL reads the write-ahead log r (size bytes long) of a database of
// pages of pageSize bytes. A log too short for its header, or whose header
// is not valid (wrong magic or checksum), holds no frames, as SQLite's own
// recovery treats it.
func readWAL(r io.ReaderAt, size, pageSize int64) (walIndex, error) {
	var idx walIndex
	if size < walHeaderSize {
		return idx, nil
	}
	head := make([]byte, walHeaderSize)
	if _, err := r.ReadAt(head, 0); err != nil {
		return idx, fmt.Errorf("sqlite write-ahead log header: %w", noEOF(err))
	}
	idx.header = head
	be := binary.BigEndian
	magic := be.Uint32(head)
	if magic&^1 != walMagic {
		return idx, nil
	}
	bigEndian := magic&1 == 1
	s0, s1 := walChecksum(head[:24], bigEndian, 0, 0)
	if s0 != be.Uint32(head[24:]) || s1 != be.Uint32(head[28:]) {
		return idx, nil
	}
	if v := be.Uint32(head[4:]); v != walVersion {
		return idx, fmt.Errorf("sqlite write-ahead log format %d: %w", v, ErrUnsupported)
	}
	if ps := int64(be.Uint32(head[8:])); ps != pageSize {
		return idx, fmt.Errorf("sqlite write-ahead log of %d-byte pages beside a database of %d-byte pages", ps, pageSize)
	}
	salts := head[16:24]

	type frame struct{ pg, off int64 }
	var frames []frame // the valid frames, in order
	committed := 0     // frames[:committed] are committed
	frameSize := walFrameHeader + pageSize
	buf := make([]byte, max(walChunk/frameSize, 1)*frameSize)
	for off := int64(walHeaderSize); off+frameSize <= size; {
		n := min(int64(len(buf)), (size-off)/frameSize*frameSize)
		chunk := buf[:n]
		if _, err := r.ReadAt(chunk, off); err != nil {
			return idx, fmt.Errorf("sqlite write-ahead log at %d: %w", off, noEOF(err))
		}
		for ; len(chunk) > 0; chunk, off = chunk[frameSize:], off+frameSize {
			fh := chunk[:walFrameHeader]
			if !bytes.Equal(fh[8:16], salts) {
				goto done
			}
			s0, s1 = walChecksum(fh[:8], bigEndian, s0, s1)
			s0, s1 = walChecksum(chunk[walFrameHeader:frameSize], bigEndian, s0, s1)
			if s0 != be.Uint32(fh[16:]) || s1 != be.Uint32(fh[20:]) {
				goto done
			}
			pg := int64(be.Uint32(fh))
			if pg == 0 {
				goto done
			}
			frames = append(frames, frame{pg, off + walFrameHeader})
			if commit := int64(be.Uint32(fh[4:])); commit != 0 {
				committed, idx.pages = len(frames), commit
			}
		}
	}
done:
	if committed == 0 {
		return idx, nil
	}
	idx.frames = make(map[int64]int64, committed)
	for _, f := range frames[:committed] {
		if f.pg <= idx.pages { // a page past the end was cut off by a later commit
			idx.frames[f.pg] = f.off
		}
	}
	return idx, nil
}

// walChecksum continues SQLite's log checksum (s0, s1) over b, whose
// length is a multiple of 8, reading its words in the log's byte order.
func walChecksum(b []byte, bigEndian bool, s0, s1 uint32) (uint32, uint32) {
	var order binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		order = binary.BigEndian
	}
	for ; len(b) >= 8; b = b[8:] {
		s0 += order.Uint32(b) + s1
		s1 += order.Uint32(b[4:]) + s0
	}
	return s0, s1
}

// errWALChanged means the log was restarted, or written over, while the
// database was read: the pages read from it may be of two versions.
var errWALChanged = errors.New("sqlite write-ahead log changed while the database was read (a write in progress); read it again")

// walUnchanged reports an error when the log r no longer starts with
// header, the header read before the database was.
func walUnchanged(r io.ReaderAt, header []byte) error {
	if header == nil {
		return nil
	}
	now := make([]byte, len(header))
	if _, err := r.ReadAt(now, 0); err != nil {
		return fmt.Errorf("sqlite write-ahead log header: %w", noEOF(err))
	}
	if !bytes.Equal(now, header) {
		return errWALChanged
	}
	return nil
}
