package regf

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"unicode/utf16"

	"github.com/avscout/avscout/internal/winreg"
)

// ErrCorrupt is wrapped by the errors of a hive (or log) whose content
// breaks the format: a bad signature or checksum, an offset outside the
// hive bins, a list that is its own member. It wraps
// [winreg.ErrHiveUnavailable]: what a corrupt hive holds past the damage
// is unknown, so a key or value it hides is no mere missing item.
var ErrCorrupt error = corrupt{}

type corrupt struct{}

func (corrupt) Error() string { return "corrupt hive" }
func (corrupt) Unwrap() error { return winreg.ErrHiveUnavailable }

// Sizes of the format.
const (
	baseBlockSize  = 4096 // the base block, before the hive bins data
	pageSize       = 4096 // hive bins are multiples of it; the cache's unit
	sectorSize     = 512  // a log's unit
	binHeaderSize  = 32
	noOffset       = 0xFFFFFFFF
	bigDataSegment = 16344 // data bytes in each segment of a db record
	maxKeyNameLen  = 1024  // bytes; Windows allows 255 characters
	maxRiDepth     = 4     // an index root holds leaves, not roots; some slack
)

// Log is a transaction log file of a hive (its .LOG1, .LOG2 or .LOG).
type Log struct {
	Name string // for errors
	R    io.ReaderAt
	Size int64
}

// Options bound what reading a hive may cost. Zero fields take the
// defaults named.
type Options struct {
	// MaxDepth is how deep below the root a key may be opened: 512.
	MaxDepth int
	// MaxSubKeys and MaxValues bound the entries of one key's subkey list
	// and value list that are read: winreg.MaxNames each.
	MaxSubKeys, MaxValues int
	// MaxCells is how many cells the hive reads over its life before every
	// read fails: 10 million. Reading every uninstall entry and vendor key
	// of the benchmark's 115 MB SOFTWARE hive reads about 120,000 cells,
	// a walk of its whole tree (40,000 keys) about 460,000. It bounds the
	// work a hostile hive can cause (a few seconds) where no cycle is to
	// blame: a list naming one big key a hundred thousand times.
	MaxCells int64
	// MaxValueSize is the largest value data read: winreg.MaxValueSize.
	MaxValueSize int
	// MaxLogBytes bounds the log data replayed, which is kept in memory:
	// 64 MiB.
	MaxLogBytes int64
	// CachePages is how many 4 KiB pages of the hive are cached: 1024.
	CachePages int
	// Logs are the hive's transaction logs, .LOG1 before .LOG2, replayed
	// when the hive is dirty.
	Logs []Log
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxDepth, 512)
	def(&o.MaxSubKeys, winreg.MaxNames)
	def(&o.MaxValues, winreg.MaxNames)
	def(&o.MaxValueSize, winreg.MaxValueSize)
	def(&o.CachePages, 1024)
	if o.MaxCells <= 0 {
		o.MaxCells = 10_000_000
	}
	if o.MaxLogBytes <= 0 {
		o.MaxLogBytes = 64 << 20
	}
	return o
}

// Hive is an open hive file. It is safe for concurrent use.
type Hive struct {
	name string
	r    io.ReaderAt
	size int64
	opts Options

	base      baseBlock
	binsSize  uint32 // of the hive bins data, after any replay
	dirty     bool
	replayed  bool
	replayErr error
	// overlay holds the 512-byte sectors of the hive bins data that the
	// logs replayed, by sector index.
	overlay map[uint32][]byte

	cells atomic.Int64 // cells read so far

	mu    sync.Mutex
	cache pageCache

	// idx caches the subkey name indexes of keys with many subkeys, by
	// key node offset, oldest first in idxOrder.
	idxMu    sync.Mutex
	idx      map[uint32]map[string]uint32
	idxOrder []uint32
	idxNames int
}

type baseBlock struct {
	seq1, seq2       uint32
	written          uint64 // FILETIME
	major, minor     uint32
	fileType, format uint32
	root, binsSize   uint32
}

func parseBase(b []byte) (bb baseBlock, sumOK bool, err error) {
	if len(b) < 512 {
		return bb, false, fmt.Errorf("base block of %d bytes is truncated: %w", len(b), ErrCorrupt)
	}
	if string(b[:4]) != "regf" {
		return bb, false, fmt.Errorf("no regf signature (%q): not a registry hive: %w", b[:4], ErrCorrupt)
	}
	le := binary.LittleEndian
	bb = baseBlock{
		seq1: le.Uint32(b[4:]), seq2: le.Uint32(b[8:]), written: le.Uint64(b[12:]),
		major: le.Uint32(b[20:]), minor: le.Uint32(b[24:]),
		fileType: le.Uint32(b[28:]), format: le.Uint32(b[32:]),
		root: le.Uint32(b[36:]), binsSize: le.Uint32(b[40:]),
	}
	return bb, checksumOK(b), nil
}

// checksumOK checks the XOR-32 checksum of the first 508 bytes. Windows
// writes 1 for a sum of 0 and 0xFFFFFFFE for 0xFFFFFFFF (libregf's
// documentation); either form is accepted.
func checksumOK(b []byte) bool {
	var c uint32
	for i := 0; i < 508; i += 4 {
		c ^= binary.LittleEndian.Uint32(b[i:])
	}
	stored := binary.LittleEndian.Uint32(b[508:])
	switch {
	case c == stored:
		return true
	case c == 0:
		return stored == 1
	case c == 0xFFFFFFFF:
		return stored == 0xFFFFFFFE
	}
	return false
}

// Open opens the hive of size bytes read from r. name names it in errors
// (a path, or "SOFTWARE"). It reads and checks the base block and the
// first hive bin, and replays opts.Logs if the hive is dirty; keys are
// read when asked for.
func Open(r io.ReaderAt, size int64, name string, opts Options) (*Hive, error) {
	h := &Hive{name: name, r: r, size: size, opts: opts.withDefaults()}
	h.cache.init(h.opts.CachePages)
	if size < baseBlockSize {
		return nil, h.errf("truncated: %d bytes, less than the %d-byte base block", size, baseBlockSize)
	}
	b := make([]byte, sectorSize)
	if err := readFull(r, b, 0); err != nil {
		return nil, fmt.Errorf("%s: read base block: %w", name, err)
	}
	base, sumOK, err := parseBase(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if base.fileType != 0 {
		return nil, h.errf("file type %d is not a primary hive (1, 2 and 6 are transaction logs)", base.fileType)
	}
	h.base, h.binsSize = base, base.binsSize
	h.dirty = !sumOK || base.seq1 != base.seq2
	if h.dirty && len(h.opts.Logs) > 0 {
		h.replayErr = h.replay(sumOK)
	}
	if !sumOK && !h.replayed {
		err := h.errf("base block checksum is wrong")
		if h.replayErr != nil {
			err = fmt.Errorf("%w; the logs did not recover it: %w", err, h.replayErr)
		}
		return nil, err
	}
	if err := h.checkBase(); err != nil {
		return nil, err
	}
	return h, nil
}

// checkBase checks the base block's (possibly recovered) numbers against
// the file, and that the first hive bin is one.
func (h *Hive) checkBase() error {
	b := h.base
	if b.major != 1 {
		return h.errf("format version %d.%d, want 1.x", b.major, b.minor)
	}
	if h.binsSize == 0 || h.binsSize%pageSize != 0 || h.binsSize > 0x80000000 {
		return h.errf("hive bins data size %d is not a positive multiple of %d up to 2 GiB", h.binsSize, pageSize)
	}
	inFile := int64(0)
	if h.size > baseBlockSize {
		inFile = (h.size - baseBlockSize) / pageSize * pageSize
	}
	if int64(h.binsSize) > inFile {
		// Pages past the file's end must all come from the logs.
		for p := uint32(inFile / pageSize); p < h.binsSize/pageSize; p++ {
			for s := range uint32(pageSize / sectorSize) {
				if h.overlay[p*(pageSize/sectorSize)+s] == nil {
					return h.errf("declares %d bytes of hive bins but the file holds %d bytes after its base block: truncated", h.binsSize, h.size-baseBlockSize)
				}
			}
		}
	}
	if b.root == noOffset || b.root >= h.binsSize {
		return h.errf("root cell offset %#x is outside the %d bytes of hive bins", b.root, h.binsSize)
	}
	hdr, err := h.read(0, binHeaderSize)
	if err != nil {
		return fmt.Errorf("%s: %w", h.name, err)
	}
	if string(hdr[:4]) != "hbin" || binary.LittleEndian.Uint32(hdr[4:]) != 0 {
		return h.errf("the first hive bin has no hbin header at offset 0 (%q)", hdr[:4])
	}
	return nil
}

// Name is the name the hive was opened with.
func (h *Hive) Name() string { return h.name }

// Dirty reports whether the hive file was not completely written: its
// base block's sequence numbers differ or its checksum is wrong. A dirty
// hive whose logs were replayed ([Hive.Replayed]) reads as Windows would
// read it; one without is read as the file holds it, which may lack the
// last writes or hold half-written cells.
func (h *Hive) Dirty() bool { return h.dirty }

// Replayed reports whether log entries were applied to a dirty hive.
func (h *Hive) Replayed() bool { return h.replayed }

// ReplayError says why the logs of a dirty hive were not applied, or not
// all of them (nil when they were, or when there was nothing to do).
func (h *Hive) ReplayError() error { return h.replayErr }

// errf is an error about the hive, wrapping ErrCorrupt.
func (h *Hive) errf(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", h.name, fmt.Sprintf(format, args...), ErrCorrupt)
}

// cellErr is an error about the cell at off (relative to the hive bins
// data; the file offset is 4096 more), wrapping ErrCorrupt. It does not
// name the hive: the key (or Open) that meets it does.
func (h *Hive) cellErr(off uint32, format string, args ...any) error {
	return fmt.Errorf("cell at offset %#x: %s: %w", off, fmt.Sprintf(format, args...), ErrCorrupt)
}

func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// read returns n bytes of the hive bins data at off.
func (h *Hive) read(off uint32, n int) ([]byte, error) {
	if n < 0 || uint64(off)+uint64(n) > uint64(h.binsSize) {
		return nil, h.cellErr(off, "%d bytes there run past the %d bytes of hive bins", n, h.binsSize)
	}
	out := make([]byte, n)
	h.mu.Lock()
	defer h.mu.Unlock()
	for done := 0; done < n; {
		pos := off + uint32(done)
		page, err := h.page(pos / pageSize)
		if err != nil {
			return nil, err
		}
		done += copy(out[done:], page[pos%pageSize:])
	}
	return out, nil
}

// page returns the cached page idx of the hive bins data, loading it from
// the file and the replayed logs. h.mu is held.
func (h *Hive) page(idx uint32) ([]byte, error) {
	if p := h.cache.get(idx); p != nil {
		return p, nil
	}
	buf := h.cache.put(idx)
	fileOff := int64(baseBlockSize) + int64(idx)*pageSize
	inFile := fileOff+pageSize <= h.size
	if inFile {
		if err := readFull(h.r, buf, fileOff); err != nil {
			h.cache.drop(idx)
			// The file cannot be read there (a bad sector, a file cut
			// short since it was opened): the hive is not read in full.
			return nil, fmt.Errorf("read at file offset %#x: %w: %w", fileOff, err, winreg.ErrHiveUnavailable)
		}
	}
	const per = pageSize / sectorSize
	for s := range uint32(per) {
		if sec := h.overlay[idx*per+s]; sec != nil {
			copy(buf[s*sectorSize:], sec)
		} else if !inFile {
			h.cache.drop(idx)
			return nil, fmt.Errorf("page at file offset %#x is past the file's end: %w", fileOff, ErrCorrupt)
		}
	}
	return buf, nil
}

// cell checks the allocated cell at off and returns the first hdr bytes
// of its data and the length of its data. what names the record expected.
func (h *Hive) cell(off uint32, hdr int, what string) ([]byte, int, error) {
	if h.cells.Add(1) > h.opts.MaxCells {
		return nil, 0, fmt.Errorf("more than %d cells read from the hive, the rest of it is not read: %w: %w",
			h.opts.MaxCells, winreg.ErrTooLarge, winreg.ErrHiveUnavailable)
	}
	switch {
	case off == noOffset:
		return nil, 0, fmt.Errorf("%s: no cell (offset 0xffffffff): %w", what, ErrCorrupt)
	case off%8 != 0:
		return nil, 0, h.cellErr(off, "%s: offset is not a multiple of 8", what)
	case off < binHeaderSize:
		return nil, 0, h.cellErr(off, "%s: offset is inside the first hive bin's header", what)
	case uint64(off)+4+uint64(hdr) > uint64(h.binsSize):
		return nil, 0, h.cellErr(off, "%s: offset is outside the %d bytes of hive bins", what, h.binsSize)
	}
	b, err := h.read(off, 4+hdr)
	if err != nil {
		return nil, 0, err
	}
	size := int32(binary.LittleEndian.Uint32(b))
	if size >= 0 {
		return nil, 0, h.cellErr(off, "%s: the cell is unallocated (size %d)", what, size)
	}
	n := -int64(size)
	if n < 8 {
		return nil, 0, h.cellErr(off, "%s: cell size %d is too small", what, n)
	}
	if uint64(off)+uint64(n) > uint64(h.binsSize) {
		return nil, 0, h.cellErr(off, "%s: the cell's %d bytes run past the %d bytes of hive bins", what, n, h.binsSize)
	}
	if int64(hdr) > n-4 {
		return nil, 0, h.cellErr(off, "%s: a cell of %d bytes is too small for it", what, n)
	}
	return b[4:], int(n - 4), nil
}

// decodeName decodes a key or value name: Latin-1 ("compressed", one byte
// a character) or UTF-16LE.
func decodeName(b []byte, compressed bool) string {
	if compressed {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// pageCache is a least-recently-used cache of pages; h.mu guards it.
type pageCache struct {
	max   int
	pages map[uint32]*cpage
	lru   cpage // sentinel: lru.next is the most recently used
}

type cpage struct {
	idx        uint32
	data       []byte
	prev, next *cpage
}

func (c *pageCache) init(max int) {
	c.max = max
	c.pages = make(map[uint32]*cpage)
	c.lru.next, c.lru.prev = &c.lru, &c.lru
}

func (c *pageCache) unlink(p *cpage) {
	p.prev.next, p.next.prev = p.next, p.prev
}

func (c *pageCache) front(p *cpage) {
	p.next, p.prev = c.lru.next, &c.lru
	c.lru.next.prev = p
	c.lru.next = p
}

func (c *pageCache) get(idx uint32) []byte {
	p := c.pages[idx]
	if p == nil {
		return nil
	}
	c.unlink(p)
	c.front(p)
	return p.data
}

// put makes room for page idx and returns its buffer to fill.
func (c *pageCache) put(idx uint32) []byte {
	var p *cpage
	if len(c.pages) >= c.max {
		p = c.lru.prev
		c.unlink(p)
		delete(c.pages, p.idx)
	} else {
		p = &cpage{data: make([]byte, pageSize)}
	}
	p.idx = idx
	c.pages[idx] = p
	c.front(p)
	return p.data
}

// drop forgets page idx, which failed to load.
func (c *pageCache) drop(idx uint32) {
	if p := c.pages[idx]; p != nil {
		c.unlink(p)
		delete(c.pages, idx)
	}
}
