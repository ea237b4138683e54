package pe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Bounds on the resource walk and the version resource.
const (
	// maxDirEntries is how many entries of one resource directory are read.
	maxDirEntries = 4096
	// maxResourceDirs is how many resource directories one walk reads.
	// Each is read once however many entries point at it, so a walk reads
	// at most one directory per 16 bytes of the resource section; this
	// bounds it further (real images have a few dozen).
	maxResourceDirs = 4096
	// maxVersionTries is how many RT_VERSION resources (names ×
	// languages) are tried before giving up.
	maxVersionTries = 16
	// maxVersionSize caps the VS_VERSIONINFO read: its length field is 16
	// bits wide.
	maxVersionSize = 64 << 10
	// maxBlocks bounds the blocks visited in one VS_VERSIONINFO.
	maxBlocks = 1024
	// maxStrings bounds the strings kept from the string tables.
	maxStrings = 64
	// maxStringLen caps each kept string, in bytes.
	maxStringLen = 512
)

const (
	rtVersion     = 16
	fixedInfoSig  = 0xFEEF04BD
	fixedInfoSize = 52
	langNeutral   = 0x0000
	langEnglishUS = 0x0409
)

// VersionInfo is the version resource of an image, as Explorer shows it
// under Properties → Details.
type VersionInfo struct {
	CompanyName      string
	ProductName      string
	FileDescription  string
	OriginalFilename string
	InternalName     string
	LegalCopyright   string
	ProductVersion   string
	FileVersion      string
	// FixedFileVersion and FixedProductVersion are the binary versions of
	// VS_FIXEDFILEINFO ("21.3.10.391"); empty when the resource has none.
	FixedFileVersion    string
	FixedProductVersion string
	// Strings holds every string of the string tables by key, the
	// en-US or language-neutral table winning over the others; at most 64.
	Strings map[string]string
}

// VersionInfo finds the image's RT_VERSION resource and parses it. It
// returns [ErrNoVersionInfo] when there is none.
func (img *Image) VersionInfo() (*VersionInfo, error) {
	d := img.dir(dirResource)
	if d.VirtualAddress == 0 || d.Size == 0 {
		return nil, ErrNoVersionInfo
	}
	base, avail, err := img.rvaToOffset(d.VirtualAddress)
	if err != nil {
		return nil, fmt.Errorf("resource directory: %w", err)
	}
	rs := &resources{img: img, base: base, size: min(int64(d.Size), avail), seen: map[uint32]bool{}}
	types, err := rs.dir(0)
	if err != nil {
		return nil, fmt.Errorf("resource directory: %w", err)
	}
	var firstErr error
	tries := 0
	for _, t := range types {
		if t.named || t.id != rtVersion || !t.subdir {
			continue
		}
		// Entries pointing at a directory already read (4,096 RT_VERSION
		// types all naming one directory of 4,096 names, say) add
		// nothing: the walk reads each directory once, so its time grows
		// with the resource section, not with the square of its entries.
		if rs.seen[t.offset] {
			firstErr = cmpOr(firstErr, reachedTwice(t.offset))
			continue
		}
		names, err := rs.dir(t.offset)
		if err != nil {
			return nil, fmt.Errorf("RT_VERSION directory: %w", err)
		}
		for _, n := range names {
			if !n.subdir {
				continue
			}
			if rs.seen[n.offset] {
				firstErr = cmpOr(firstErr, reachedTwice(n.offset))
				continue
			}
			langs, err := rs.dir(n.offset)
			if errors.Is(err, errTooManyDirs) {
				return nil, err
			}
			if err != nil {
				firstErr = cmpOr(firstErr, fmt.Errorf("RT_VERSION languages: %w", err))
				continue
			}
			slices.SortStableFunc(langs, func(a, b dirEntry) int { return langRank(a.id) - langRank(b.id) })
			for _, l := range langs {
				if tries++; tries > maxVersionTries {
					return nil, cmpOr(firstErr, ErrNoVersionInfo)
				}
				if l.subdir {
					// A leaf that is a directory: a loop or a corrupt tree.
					firstErr = cmpOr(firstErr, fmt.Errorf("%w: RT_VERSION resource nested too deep", ErrMalformed))
					continue
				}
				blob, err := rs.data(l.offset)
				if err != nil {
					firstErr = cmpOr(firstErr, fmt.Errorf("RT_VERSION data: %w", err))
					continue
				}
				vi, err := ParseVersionInfo(blob)
				if err != nil {
					firstErr = cmpOr(firstErr, err)
					continue
				}
				return vi, nil
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, ErrNoVersionInfo
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// langRank orders resource languages: neutral, then US English, then the
// rest as they come.
func langRank(id uint32) int {
	switch id {
	case langNeutral:
		return 0
	case langEnglishUS:
		return 1
	}
	return 2
}

// resources reads the resource tree. Offsets in it are relative to base
// and must stay below size, the directory's declared size.
type resources struct {
	img  *Image
	base int64
	size int64
	seen map[uint32]bool // directories read, by offset
}

// reachedTwice is the error of a directory an entry points at after
// another did: the resource tree is a tree, so a loop or a directory
// shared to multiply the walk.
func reachedTwice(off uint32) error {
	return fmt.Errorf("%w: resource directory at %#x reached twice (a loop, or shared)", ErrMalformed, off)
}

// errTooManyDirs ends a walk that read maxResourceDirs directories. It
// is a type, not fmt.Errorf's result, whose formatting would otherwise
// run at every start of the agent.
var errTooManyDirs error = tooManyDirsError{}

type tooManyDirsError struct{}

func (tooManyDirsError) Error() string {
	return ErrMalformed.Error() + ": more than " + strconv.Itoa(maxResourceDirs) + " resource directories"
}

func (tooManyDirsError) Unwrap() error { return ErrMalformed }

type dirEntry struct {
	named  bool
	id     uint32
	subdir bool
	offset uint32 // of the subdirectory or data entry, relative to base
}

// dir reads the IMAGE_RESOURCE_DIRECTORY at off and its entries.
func (rs *resources) dir(off uint32) ([]dirEntry, error) {
	if len(rs.seen) >= maxResourceDirs {
		return nil, errTooManyDirs
	}
	rs.seen[off] = true
	var hdr [16]byte
	if err := rs.read(hdr[:], off); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint16(hdr[12:])) + int(binary.LittleEndian.Uint16(hdr[14:]))
	n = min(n, maxDirEntries, int((rs.size-int64(off)-16)/8))
	if n <= 0 {
		return nil, nil
	}
	raw := make([]byte, n*8)
	if err := rs.read(raw, off+16); err != nil {
		return nil, err
	}
	ents := make([]dirEntry, n)
	for i := range ents {
		name := binary.LittleEndian.Uint32(raw[i*8:])
		data := binary.LittleEndian.Uint32(raw[i*8+4:])
		ents[i] = dirEntry{
			named:  name&0x80000000 != 0,
			id:     name &^ 0x80000000,
			subdir: data&0x80000000 != 0,
			offset: data &^ 0x80000000,
		}
	}
	return ents, nil
}

// data reads the IMAGE_RESOURCE_DATA_ENTRY at off and the bytes it points
// at, at most maxVersionSize of them.
func (rs *resources) data(off uint32) ([]byte, error) {
	var ent [16]byte
	if err := rs.read(ent[:], off); err != nil {
		return nil, err
	}
	rva := binary.LittleEndian.Uint32(ent[0:])
	size := binary.LittleEndian.Uint32(ent[4:])
	at, avail, err := rs.img.rvaToOffset(rva)
	if err != nil {
		return nil, err
	}
	n := min(int64(size), avail, maxVersionSize)
	buf := make([]byte, n)
	if err := rs.img.readFull(buf, at); err != nil {
		return nil, err
	}
	return buf, nil
}

func (rs *resources) read(p []byte, off uint32) error {
	if int64(off)+int64(len(p)) > rs.size {
		return fmt.Errorf("%w: resource entry at %#x beyond the directory's %d bytes", ErrMalformed, off, rs.size)
	}
	return rs.img.readFull(p, rs.base+int64(off))
}

// ParseVersionInfo parses a VS_VERSIONINFO resource: the fixed file info and
// the string tables. Malformed blocks end the walk of their parent; what was
// read before them is kept.
func ParseVersionInfo(b []byte) (*VersionInfo, error) {
	w := &vsWalker{b: b}
	root, _, err := w.block(0, len(b))
	if err != nil {
		return nil, fmt.Errorf("version resource: %w", err)
	}
	if n := int(binary.LittleEndian.Uint16(b)); n > len(b) {
		return nil, fmt.Errorf("%w: version resource of %d bytes truncated to %d", ErrMalformed, n, len(b))
	}
	if root.key != "VS_VERSION_INFO" {
		return nil, fmt.Errorf("%w: version resource key %q", ErrMalformed, root.key)
	}
	vi := &VersionInfo{}
	if v := root.value; len(v) >= fixedInfoSize && binary.LittleEndian.Uint32(v) == fixedInfoSig {
		vi.FixedFileVersion = fourPart(binary.LittleEndian.Uint32(v[8:]), binary.LittleEndian.Uint32(v[12:]))
		vi.FixedProductVersion = fourPart(binary.LittleEndian.Uint32(v[16:]), binary.LittleEndian.Uint32(v[20:]))
	}
	type table struct {
		lang    uint32
		strings [][2]string
	}
	var tables []table
	w.children(root, func(sfi vsBlock) {
		if sfi.key != "StringFileInfo" {
			return
		}
		w.children(sfi, func(st vsBlock) {
			t := table{lang: 0xFFFF}
			if len(st.key) == 8 {
				if lang, err := strconv.ParseUint(st.key[:4], 16, 16); err == nil {
					t.lang = uint32(lang)
				}
			}
			w.children(st, func(s vsBlock) {
				t.strings = append(t.strings, [2]string{s.key, cleanString(s.text())})
			})
			tables = append(tables, t)
		})
	})
	slices.SortStableFunc(tables, func(a, b table) int { return langRank(a.lang) - langRank(b.lang) })
	for _, t := range tables {
		for _, kv := range t.strings {
			k, v := cleanString(kv[0]), kv[1]
			if k == "" || v == "" {
				continue
			}
			if vi.Strings == nil {
				vi.Strings = map[string]string{}
			}
			if _, ok := vi.Strings[k]; ok || len(vi.Strings) >= maxStrings {
				continue
			}
			vi.Strings[k] = v
		}
	}
	s := vi.Strings
	vi.CompanyName, vi.ProductName = s["CompanyName"], s["ProductName"]
	vi.FileDescription, vi.OriginalFilename = s["FileDescription"], s["OriginalFilename"]
	vi.InternalName, vi.LegalCopyright = s["InternalName"], s["LegalCopyright"]
	vi.ProductVersion, vi.FileVersion = s["ProductVersion"], s["FileVersion"]
	return vi, nil
}

func fourPart(ms, ls uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xffff, ls>>16, ls&0xffff)
}

// vsWalker walks the blocks of one VS_VERSIONINFO. Every block has the
// same header — wLength, wValueLength, wType, a NUL-terminated UTF-16 key —
// then its value and its children, each 32-bit aligned from the start of
// the resource.
type vsWalker struct {
	b      []byte
	blocks int
}

type vsBlock struct {
	key        string
	value      []byte // as wValueLength says, clipped to the block
	valueToEnd []byte // from the value's start to the end of the block
	typ        uint16
	valueLen   int
	childStart int
	end        int
}

// text is a string block's value: UTF-16 up to the first NUL. It reads to
// the end of the block rather than trusting wValueLength, which many
// resource compilers get wrong (bytes instead of characters).
func (blk vsBlock) text() string {
	if blk.valueLen == 0 {
		return ""
	}
	return utf16z(blk.valueToEnd)
}

// block parses the block at off, which must end by end, and returns the
// offset of its next sibling.
func (w *vsWalker) block(off, end int) (vsBlock, int, error) {
	if w.blocks++; w.blocks > maxBlocks {
		return vsBlock{}, 0, fmt.Errorf("%w: more than %d version blocks", ErrMalformed, maxBlocks)
	}
	if off < 0 || off+6 > end || end > len(w.b) {
		return vsBlock{}, 0, fmt.Errorf("%w: version block at %d truncated", ErrMalformed, off)
	}
	length := int(binary.LittleEndian.Uint16(w.b[off:]))
	valueLen := int(binary.LittleEndian.Uint16(w.b[off+2:]))
	typ := binary.LittleEndian.Uint16(w.b[off+4:])
	if length < 6 {
		return vsBlock{}, 0, fmt.Errorf("%w: version block at %d claims %d bytes", ErrMalformed, off, length)
	}
	blkEnd := min(off+length, end)
	keyEnd := off + 6
	for keyEnd+1 < blkEnd && (w.b[keyEnd] != 0 || w.b[keyEnd+1] != 0) {
		keyEnd += 2
	}
	key := utf16z(w.b[off+6 : min(keyEnd, blkEnd)])
	valStart := min(align4(keyEnd+2), blkEnd)
	n := valueLen
	if typ == 1 {
		n *= 2
	}
	valEnd := min(valStart+n, blkEnd)
	blk := vsBlock{
		key:        key,
		value:      w.b[valStart:valEnd],
		valueToEnd: w.b[valStart:blkEnd],
		typ:        typ,
		valueLen:   valueLen,
		childStart: min(align4(valEnd), blkEnd),
		end:        blkEnd,
	}
	return blk, align4(blkEnd), nil
}

// children calls fn for each child of parent, stopping at the first
// malformed one.
func (w *vsWalker) children(parent vsBlock, fn func(vsBlock)) {
	for off := parent.childStart; off+6 <= parent.end; {
		blk, next, err := w.block(off, parent.end)
		if err != nil {
			return
		}
		fn(blk)
		if next <= off {
			return
		}
		off = next
	}
}

func align4(n int) int { return (n + 3) &^ 3 }

// utf16z decodes little-endian UTF-16 up to the first NUL.
func utf16z(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// cleanString makes a string read from a file safe to print on one line:
// control characters become spaces, surrounding space goes, and it is cut
// to maxStringLen bytes at a character boundary.
func cleanString(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxStringLen {
		cut := maxStringLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
