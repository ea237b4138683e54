package regf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Transaction log file types in a log's base block.
const (
	logOld1 = 1 // old format (.LOG, or .LOG1/.LOG2 before Windows 8.1)
	logOld2 = 2
	logNew  = 6 // new format: HvLE log entries
)

// logEntrySeed seeds the Marvin32 hashes of a log entry.
const logEntrySeed = 0x82EF4D887A4E55C5

// entry is a checked new-format log entry.
type entry struct {
	seq      uint32
	binsSize uint32
	pages    []pageRef
	log      int // index in Options.Logs, for errors
}

type pageRef struct {
	off  uint32 // in the hive bins data
	data []byte
}

type logFile struct {
	Log
	idx  int
	base baseBlock
}

// replay recovers the dirty hive from its logs into h.overlay: new-format
// logs' entries with sequence numbers from the hive's primary sequence
// number on, in order; else the first old-format log that applies. A
// primary base block with a wrong checksum (sumOK false) is replaced by a
// log's. It sets h.replayed when something was applied, and returns why
// something was not.
func (h *Hive) replay(sumOK bool) error {
	var errs []error
	var logs []logFile
	for i, l := range h.opts.Logs {
		b := make([]byte, sectorSize)
		if l.R == nil {
			errs = append(errs, fmt.Errorf("log %s: no reader", l.Name))
			continue
		}
		if l.Size < sectorSize {
			errs = append(errs, fmt.Errorf("log %s: %d bytes, too short for a base block", l.Name, l.Size))
			continue
		}
		if err := readFull(l.R, b, 0); err != nil {
			errs = append(errs, fmt.Errorf("log %s: read base block: %w", l.Name, err))
			continue
		}
		base, ok, err := parseBase(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("log %s: %w", l.Name, err))
			continue
		}
		if !ok {
			errs = append(errs, fmt.Errorf("log %s: base block checksum is wrong: %w", l.Name, ErrCorrupt))
			continue
		}
		if base.fileType != logOld1 && base.fileType != logOld2 && base.fileType != logNew {
			errs = append(errs, fmt.Errorf("log %s: file type %d is not a transaction log: %w", l.Name, base.fileType, ErrCorrupt))
			continue
		}
		logs = append(logs, logFile{Log: l, idx: i, base: base})
	}
	if len(logs) == 0 {
		return fmt.Errorf("%s: no usable transaction log: %w", h.name, errors.Join(errs...))
	}
	if !sumOK {
		// The base block is recovered from a log's copy of it.
		b := logs[0].base
		b.fileType = 0
		h.base, h.binsSize = b, b.binsSize
	}

	budget := h.opts.MaxLogBytes
	var entries []entry
	for _, l := range logs {
		if l.base.fileType != logNew {
			continue
		}
		es, err := h.readEntries(l, &budget)
		entries = append(entries, es...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(entries) > 0 {
		// Entries from the primary sequence number on, in order, each
		// one more than the last; the same number in both logs is one
		// entry (LOG1's, which comes first).
		slices.SortStableFunc(entries, func(a, b entry) int { return cmpU32(a.seq, b.seq) })
		applied := 0
		var next uint32
		for _, e := range entries {
			if e.seq < h.base.seq1 {
				continue
			}
			if applied > 0 && e.seq == next-1 {
				continue
			}
			if applied > 0 && e.seq != next {
				errs = append(errs, fmt.Errorf("%s: log entries jump from sequence number %d to %d; the rest were not applied", h.name, next-1, e.seq))
				break
			}
			if h.overlay == nil {
				h.overlay = make(map[uint32][]byte)
			}
			for _, p := range e.pages {
				for i := 0; i < len(p.data); i += sectorSize {
					h.overlay[(p.off+uint32(i))/sectorSize] = p.data[i : i+sectorSize]
				}
			}
			h.binsSize = e.binsSize
			h.base.seq1, h.base.seq2 = e.seq, e.seq
			next = e.seq + 1
			applied++
		}
		if applied > 0 {
			h.replayed = true
			return errors.Join(errs...)
		}
		errs = append(errs, fmt.Errorf("%s: no log entry from sequence number %d on", h.name, h.base.seq1))
	}

	for _, l := range logs {
		if l.base.fileType == logNew {
			continue
		}
		err := h.applyOld(l, &budget)
		if err == nil {
			h.replayed = true
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readEntries reads the log entries of a new-format log, stopping at the
// first that is not one or fails its hashes.
func (h *Hive) readEntries(l logFile, budget *int64) ([]entry, error) {
	var out []entry
	le := binary.LittleEndian
	for off := int64(sectorSize); off+sectorSize <= l.Size; {
		var hdr [40]byte
		if err := readFull(l.R, hdr[:], off); err != nil {
			return out, fmt.Errorf("log %s: read at %#x: %w", l.Name, off, err)
		}
		if string(hdr[:4]) != "HvLE" {
			return out, nil // the end of the entries: the rest is old or empty
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("log %s: log entry at %#x: %s: %w", l.Name, off, fmt.Sprintf(format, args...), ErrCorrupt)
		}
		size := int64(le.Uint32(hdr[4:]))
		if size < 40 || size%sectorSize != 0 || off+size > l.Size {
			return out, bad("size %d is not a multiple of %d within the log's %d bytes", size, sectorSize, l.Size)
		}
		if size > *budget {
			return out, fmt.Errorf("log %s: log entry at %#x: more than the %d bytes of log data allowed", l.Name, off, h.opts.MaxLogBytes)
		}
		*budget -= size
		b := make([]byte, size)
		if err := readFull(l.R, b, off); err != nil {
			return out, fmt.Errorf("log %s: read at %#x: %w", l.Name, off, err)
		}
		if marvin32(b[40:], logEntrySeed) != le.Uint64(b[24:]) || marvin32(b[:32], logEntrySeed) != le.Uint64(b[32:]) {
			return out, bad("hash mismatch")
		}
		e := entry{seq: le.Uint32(b[12:]), binsSize: le.Uint32(b[16:]), log: l.idx}
		if e.binsSize == 0 || e.binsSize%pageSize != 0 || e.binsSize > 0x80000000 {
			return out, bad("hive bins data size %d is not a positive multiple of %d", e.binsSize, pageSize)
		}
		count := int64(le.Uint32(b[20:]))
		if 40+8*count > size {
			return out, bad("%d page references do not fit its %d bytes", count, size)
		}
		data := 40 + 8*count
		for i := range count {
			p := b[40+8*i:]
			poff, psize := le.Uint32(p), int64(le.Uint32(p[4:]))
			if poff%sectorSize != 0 || psize == 0 || psize%sectorSize != 0 || int64(poff)+psize > int64(e.binsSize) || data+psize > size {
				return out, bad("page reference %d (offset %#x, %d bytes) is not whole sectors within the hive bins and the entry", i, poff, psize)
			}
			e.pages = append(e.pages, pageRef{off: poff, data: b[data : data+psize]})
			data += psize
		}
		out = append(out, e)
		off += size
	}
	return out, nil
}

// applyOld applies an old-format log: its dirty vector says which
// 512-byte sectors of the hive bins data follow it.
func (h *Hive) applyOld(l logFile, budget *int64) error {
	b := l.base
	if b.seq1 != b.seq2 {
		return fmt.Errorf("log %s: sequence numbers %d and %d differ: the log itself was not completely written", l.Name, b.seq1, b.seq2)
	}
	if b.written != h.base.written {
		return fmt.Errorf("log %s: last-written time differs from the hive's: not this hive's log", l.Name)
	}
	if b.binsSize == 0 || b.binsSize%pageSize != 0 || b.binsSize > 0x80000000 {
		return fmt.Errorf("log %s: hive bins data size %d is not a positive multiple of %d: %w", l.Name, b.binsSize, pageSize, ErrCorrupt)
	}
	nbits := b.binsSize / sectorSize
	vec := make([]byte, 4+(nbits+7)/8)
	if int64(sectorSize+len(vec)) > l.Size {
		return fmt.Errorf("log %s: dirty vector of %d bytes runs past the log's %d bytes: %w", l.Name, len(vec), l.Size, ErrCorrupt)
	}
	if err := readFull(l.R, vec, sectorSize); err != nil {
		return fmt.Errorf("log %s: read dirty vector: %w", l.Name, err)
	}
	if string(vec[:4]) != "DIRT" {
		return fmt.Errorf("log %s: no DIRT signature at 512: %w", l.Name, ErrCorrupt)
	}
	bitmap := vec[4:]
	dirty := 0
	for _, c := range bitmap {
		dirty += bits.OnesCount8(c)
	}
	start := (int64(sectorSize+len(vec)) + sectorSize - 1) / sectorSize * sectorSize
	if start+int64(dirty)*sectorSize > l.Size {
		return fmt.Errorf("log %s: %d dirty sectors run past the log's %d bytes: %w", l.Name, dirty, l.Size, ErrCorrupt)
	}
	if int64(dirty)*sectorSize > *budget {
		return fmt.Errorf("log %s: %d dirty sectors, more than the %d bytes of log data allowed", l.Name, dirty, h.opts.MaxLogBytes)
	}
	*budget -= int64(dirty) * sectorSize
	data := make([]byte, dirty*sectorSize)
	if err := readFull(l.R, data, start); err != nil {
		return fmt.Errorf("log %s: read dirty sectors: %w", l.Name, err)
	}
	overlay := make(map[uint32][]byte, dirty)
	k := 0
	for i := range nbits {
		if bitmap[i/8]&(1<<(i%8)) != 0 {
			overlay[i] = data[k*sectorSize : (k+1)*sectorSize]
			k++
		}
	}
	h.overlay, h.binsSize = overlay, b.binsSize
	h.base.seq2 = h.base.seq1
	return nil
}

// marvin32 is the Marvin32 hash of b with seed, as Windows computes the
// hashes of a log entry: the 64-bit result is the two halves of the final
// state, high word second.
func marvin32(b []byte, seed uint64) uint64 {
	lo, hi := uint32(seed), uint32(seed>>32)
	mix := func() {
		hi ^= lo
		lo = bits.RotateLeft32(lo, 20)
		lo += hi
		hi = bits.RotateLeft32(hi, 9)
		hi ^= lo
		lo = bits.RotateLeft32(lo, 27)
		lo += hi
		hi = bits.RotateLeft32(hi, 19)
	}
	for len(b) >= 4 {
		lo += binary.LittleEndian.Uint32(b)
		mix()
		b = b[4:]
	}
	final := uint32(0x80)
	for i := len(b) - 1; i >= 0; i-- {
		final = final<<8 | uint32(b[i])
	}
	lo += final
	mix()
	mix()
	return uint64(hi)<<32 | uint64(lo)
}
