package plist

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The binary format, as Apple documents it at the top of CFBinaryPList.c:
//
//	HEADER   "bplist00"
//	OBJECTS  each a marker byte, then its content:
//	  0000 0000          null        0000 1000 false   0000 1001 true
//	  0001 nnnn …        int of 2^nnnn big-endian bytes
//	  0010 nnnn …        real of 2^nnnn bytes
//	  0011 0011 …        date: 8-byte float, seconds since 2001-01-01 UTC
//	  0100 nnnn [int] …  data of nnnn bytes (1111: an int object gives the count)
//	  0101 nnnn [int] …  ASCII string of nnnn bytes
//	  0110 nnnn [int] …  UTF-16BE string of nnnn units
//	  1000 nnnn …        UID of nnnn+1 bytes
//	  1010 nnnn [int] …  array of nnnn object references
//	  1100 nnnn [int] …  set, as an array
//	  1101 nnnn [int] …  dictionary: nnnn key references, then nnnn value references
//	OFFSET TABLE  one offset per object
//	TRAILER  32 bytes: 5 unused, sort version, offset size, reference
//	         size, object count, top object, offset table offset (the
//	         last three 8 bytes, big-endian)
const (
	binHeaderLen  = 8
	binTrailerLen = 32
)

// mac epoch: binary dates count seconds from 2001-01-01 UTC.
var macEpoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

type binDecoder struct {
	b           []byte
	offsetSize  int
	refSize     int
	numObjects  uint64
	tableOffset uint64 // where the offset table starts: objects lie before it
	budget
	// scalars remembers decoded strings, numbers and data by object, so a
	// shared one is decoded (and allocated) once, however often it is
	// referred to. Collections are rebuilt per reference, and counted.
	scalars map[uint64]any
	// stack holds the collections being decoded, to report a reference
	// cycle as such; it is never deeper than MaxDepth.
	stack []uint64
	// sizes memoizes how many values each object expands to.
	sizes map[uint64]uint64
}

func decodeBinary(b []byte, lim Limits) (any, error) {
	if len(b) < binHeaderLen+binTrailerLen {
		return nil, fmt.Errorf("%w: binary property list of %d bytes is shorter than its header and trailer", ErrMalformed, len(b))
	}
	if v := string(b[6:8]); v != "00" {
		return nil, fmt.Errorf("%w: binary property list version %q is not supported (want 00)", ErrMalformed, v)
	}
	t := b[len(b)-binTrailerLen:]
	d := &binDecoder{
		b:           b,
		offsetSize:  int(t[6]),
		refSize:     int(t[7]),
		numObjects:  binary.BigEndian.Uint64(t[8:]),
		tableOffset: binary.BigEndian.Uint64(t[24:]),
		budget:      budget{form: "binary", lim: lim},
		scalars:     map[uint64]any{},
	}
	top := binary.BigEndian.Uint64(t[16:])
	end := uint64(len(b) - binTrailerLen)
	switch {
	case d.offsetSize < 1 || d.offsetSize > 8:
		return nil, fmt.Errorf("%w: binary property list offsets of %d bytes", ErrMalformed, d.offsetSize)
	case d.refSize < 1 || d.refSize > 8:
		return nil, fmt.Errorf("%w: binary property list references of %d bytes", ErrMalformed, d.refSize)
	case d.numObjects == 0:
		return nil, fmt.Errorf("%w: binary property list without objects", ErrMalformed)
	case d.tableOffset < binHeaderLen || d.tableOffset > end:
		return nil, fmt.Errorf("%w: binary property list offset table at %d outside the file", ErrMalformed, d.tableOffset)
	case d.numObjects > (end-d.tableOffset)/uint64(d.offsetSize):
		return nil, fmt.Errorf("%w: binary property list claims %d objects, its offset table holds %d", ErrMalformed, d.numObjects, (end-d.tableOffset)/uint64(d.offsetSize))
	case top >= d.numObjects:
		return nil, fmt.Errorf("%w: binary property list top object %d of %d", ErrMalformed, top, d.numObjects)
	}
	// Weigh the tree before building it: a plist whose shared references
	// expand past the budget is refused in time linear in its size,
	// before anything is allocated for it.
	d.sizes = map[uint64]uint64{}
	n, err := d.size(top, 1)
	if err != nil {
		return nil, err
	}
	if n > uint64(lim.MaxValues) {
		return nil, &LimitError{Form: "binary", What: "values", Limit: int64(lim.MaxValues)}
	}
	d.sizes = nil
	return d.object(top, 1)
}

// size returns how many values object i expands to, references followed
// (at most MaxValues+1: past the budget the exact number does not
// matter). Each object is weighed once, so this takes time linear in the
// number of objects and references.
func (d *binDecoder) size(i uint64, depth int) (uint64, error) {
	if n, ok := d.sizes[i]; ok {
		return n, nil
	}
	off, err := d.offset(i)
	if err != nil {
		return 0, err
	}
	marker := d.b[off]
	kind, info := marker>>4, marker&0x0f
	if kind != 0xa && kind != 0xc && kind != 0xd {
		d.sizes[i] = 1
		return 1, nil
	}
	if err := d.depth(depth); err != nil {
		return 0, err
	}
	if slices.Contains(d.stack, i) {
		return 0, fmt.Errorf("%w: object %d contains itself (a reference cycle)", ErrMalformed, i)
	}
	_, start, refs, err := d.refs(i, off, kind, info)
	if err != nil {
		return 0, err
	}
	d.stack = append(d.stack, i)
	defer func() { d.stack = d.stack[:len(d.stack)-1] }()
	limit := uint64(d.lim.MaxValues) + 1
	total := uint64(1)
	for j := range refs {
		r := uintAt(d.b, start+j*uint64(d.refSize), d.refSize)
		if r >= d.numObjects {
			return 0, fmt.Errorf("%w: object %d refers to object %d of %d", ErrMalformed, i, r, d.numObjects)
		}
		c, err := d.size(r, depth+1)
		if err != nil {
			return 0, err
		}
		if total += c; total >= limit {
			total = limit
			break
		}
	}
	d.sizes[i] = total
	return total, nil
}

// refs reads the header of the collection i at off: its element count,
// where its references start, and how many there are (twice the count for
// a dictionary), checked against the file.
func (d *binDecoder) refs(i, off uint64, kind, info byte) (n, start, refs uint64, err error) {
	n, start, err = d.count(off, info)
	if err != nil {
		return 0, 0, 0, err
	}
	refs = n
	if kind == 0xd {
		if n > math.MaxUint64/2 {
			return 0, 0, 0, fmt.Errorf("%w: dictionary of %d entries", ErrMalformed, n)
		}
		refs = 2 * n
	}
	if refs > d.tableOffset/uint64(d.refSize) {
		return 0, 0, 0, fmt.Errorf("%w: object %d claims %d references, more than the file holds", ErrMalformed, i, refs)
	}
	if err := d.need(start, refs*uint64(d.refSize)); err != nil {
		return 0, 0, 0, fmt.Errorf("object %d: %w", i, err)
	}
	return n, start, refs, nil
}

// uint reads an n-byte big-endian unsigned integer at off, which the
// caller has checked.
func uintAt(b []byte, off uint64, n int) uint64 {
	var v uint64
	for _, c := range b[off : off+uint64(n)] {
		v = v<<8 | uint64(c)
	}
	return v
}

// offset returns where object i starts.
func (d *binDecoder) offset(i uint64) (uint64, error) {
	off := uintAt(d.b, d.tableOffset+i*uint64(d.offsetSize), d.offsetSize)
	if off < binHeaderLen || off >= d.tableOffset {
		return 0, fmt.Errorf("%w: object %d at offset %d outside the object table", ErrMalformed, i, off)
	}
	return off, nil
}

// object decodes object i at nesting level depth.
func (d *binDecoder) object(i uint64, depth int) (any, error) {
	if err := d.value(); err != nil {
		return nil, err
	}
	if v, ok := d.scalars[i]; ok {
		return v, nil
	}
	off, err := d.offset(i)
	if err != nil {
		return nil, err
	}
	marker := d.b[off]
	kind, info := marker>>4, marker&0x0f
	switch kind {
	case 0xa, 0xc, 0xd:
		return d.collection(i, off, kind, info, depth)
	}
	v, err := d.scalar(off, kind, info)
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", i, err)
	}
	d.scalars[i] = v
	return v, nil
}

// need checks that n bytes at off lie before the offset table.
func (d *binDecoder) need(off, n uint64) error {
	if n > d.tableOffset || off > d.tableOffset-n {
		return fmt.Errorf("%w: %d bytes at offset %d run past the object table", ErrMalformed, n, off)
	}
	return nil
}

// count reads the element count of the object whose marker is at off:
// info, or when it is 0xf the integer object that follows. It returns
// the count and where the content starts.
func (d *binDecoder) count(off uint64, info byte) (uint64, uint64, error) {
	if info != 0xf {
		return uint64(info), off + 1, nil
	}
	if err := d.need(off+1, 1); err != nil {
		return 0, 0, err
	}
	m := d.b[off+1]
	if m>>4 != 0x1 || m&0x0f > 3 {
		return 0, 0, fmt.Errorf("%w: count at offset %d is not an integer of 1 to 8 bytes (marker %#02x)", ErrMalformed, off+1, m)
	}
	n := uint64(1) << (m & 0x0f)
	if err := d.need(off+2, n); err != nil {
		return 0, 0, err
	}
	return uintAt(d.b, off+2, int(n)), off + 2 + n, nil
}

func (d *binDecoder) scalar(off uint64, kind, info byte) (any, error) {
	switch kind {
	case 0x0:
		switch info {
		case 0x0, 0xf: // null, fill
			return nil, nil
		case 0x8:
			return false, nil
		case 0x9:
			return true, nil
		}
	case 0x1:
		return d.integer(off, info)
	case 0x2:
		switch info {
		case 2:
			if err := d.need(off+1, 4); err != nil {
				return nil, err
			}
			return float64(math.Float32frombits(uint32(uintAt(d.b, off+1, 4)))), nil
		case 3:
			if err := d.need(off+1, 8); err != nil {
				return nil, err
			}
			return math.Float64frombits(uintAt(d.b, off+1, 8)), nil
		}
	case 0x3:
		if info != 3 {
			break
		}
		if err := d.need(off+1, 8); err != nil {
			return nil, err
		}
		secs := math.Float64frombits(uintAt(d.b, off+1, 8))
		if math.IsNaN(secs) || math.Abs(secs) > 1e13 { // ±300,000 years
			return nil, fmt.Errorf("%w: date %v out of range", ErrMalformed, secs)
		}
		whole, frac := math.Modf(secs)
		return time.Unix(macEpoch.Unix()+int64(whole), int64(frac*1e9)).UTC(), nil
	case 0x4, 0x5, 0x6:
		n, start, err := d.count(off, info)
		if err != nil {
			return nil, err
		}
		size := n
		if kind == 0x6 {
			if n > math.MaxUint64/2 {
				return nil, fmt.Errorf("%w: string of %d units", ErrMalformed, n)
			}
			size = 2 * n
		}
		if err := d.need(start, size); err != nil {
			return nil, err
		}
		if err := d.data(int(size)); err != nil {
			return nil, err
		}
		raw := d.b[start : start+size]
		switch kind {
		case 0x4:
			return slices.Clone(raw), nil
		case 0x5:
			return asciiString(raw), nil
		}
		u := make([]uint16, n)
		for j := range u {
			u[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		return string(utf16.Decode(u)), nil
	case 0x8:
		n := int(info) + 1
		if n > 8 {
			break
		}
		if err := d.need(off+1, uint64(n)); err != nil {
			return nil, err
		}
		return uintAt(d.b, off+1, n), nil
	}
	return nil, fmt.Errorf("%w: unknown object marker %#02x at offset %d", ErrMalformed, kind<<4|info, off)
}

// asciiString is an "ASCII" string's bytes as a string. CF writes only
// 7-bit text here; other bytes are taken as Latin-1 rather than left as
// invalid UTF-8.
func asciiString(raw []byte) string {
	if utf8.Valid(raw) {
		return string(raw)
	}
	r := make([]rune, len(raw))
	for i, c := range raw {
		r[i] = rune(c)
	}
	return string(r)
}

// integer decodes an int object of 2^info bytes: 1, 2 and 4 bytes are
// unsigned, 8 bytes signed, 16 bytes a signed 128-bit value that must fit
// 64 bits.
func (d *binDecoder) integer(off uint64, info byte) (any, error) {
	if info > 4 {
		return nil, fmt.Errorf("%w: integer of 2^%d bytes", ErrMalformed, info)
	}
	n := uint64(1) << info
	if err := d.need(off+1, n); err != nil {
		return nil, err
	}
	switch n {
	case 8:
		v := uintAt(d.b, off+1, 8)
		if int64(v) < 0 {
			return int64(v), nil
		}
		return v, nil
	case 16:
		hi, lo := uintAt(d.b, off+1, 8), uintAt(d.b, off+9, 8)
		switch {
		case hi == 0:
			return lo, nil
		case hi == math.MaxUint64 && int64(lo) < 0:
			return int64(lo), nil
		}
		return nil, fmt.Errorf("%w: 128-bit integer does not fit 64 bits", ErrMalformed)
	}
	return uintAt(d.b, off+1, int(n)), nil
}

// collection decodes the array, set or dictionary i at off.
func (d *binDecoder) collection(i, off uint64, kind, info byte, depth int) (any, error) {
	if err := d.depth(depth); err != nil {
		return nil, err
	}
	if slices.Contains(d.stack, i) {
		return nil, fmt.Errorf("%w: object %d contains itself (a reference cycle)", ErrMalformed, i)
	}
	n, start, refs, err := d.refs(i, off, kind, info)
	if err != nil {
		return nil, err
	}
	// Allocate only what the budget allows to be filled.
	if err := d.reserve(refs); err != nil {
		return nil, err
	}
	ref := func(j uint64) (uint64, error) {
		r := uintAt(d.b, start+j*uint64(d.refSize), d.refSize)
		if r >= d.numObjects {
			return 0, fmt.Errorf("%w: object %d refers to object %d of %d", ErrMalformed, i, r, d.numObjects)
		}
		return r, nil
	}
	d.stack = append(d.stack, i)
	defer func() { d.stack = d.stack[:len(d.stack)-1] }()
	if kind != 0xd {
		arr := make([]any, n)
		for j := range n {
			r, err := ref(j)
			if err != nil {
				return nil, err
			}
			if arr[j], err = d.object(r, depth+1); err != nil {
				return nil, err
			}
		}
		return arr, nil
	}
	m := make(map[string]any, n)
	for j := range n {
		kr, err := ref(j)
		if err != nil {
			return nil, err
		}
		k, err := d.object(kr, depth+1)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: object %d has a dictionary key that is not a string", ErrMalformed, i)
		}
		vr, err := ref(n + j)
		if err != nil {
			return nil, err
		}
		if m[ks], err = d.object(vr, depth+1); err != nil {
			return nil, err
		}
	}
	return m, nil
}
