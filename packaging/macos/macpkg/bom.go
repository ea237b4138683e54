package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"
)

// Bom ("bill of materials") is Apple's BOMStore format: a 512-byte header,
// blocks addressed by index through a block table, and named blocks. An
// installer package's Bom lists every payload path with type, mode,
// owner, size and cksum CRC; Installer checks the payload against it and
// keeps it as the receipt (`pkgutil --files`, `lsbom`). Layout as
// described in igankevich/stuckliste docs/bom-file-format-reference.md and
// receipt-file-format-reference.md; all integers are big-endian.
const (
	bomMagic      = "BOMStore"
	bomHeaderSize = 512
	// pathsBlockSize is the node size of the Paths and HLIndex trees,
	// smallTreeBlock that of Size64 and the VIndex tree.
	pathsBlockSize = 4096
	smallTreeBlock = 128
	// treeNodeHeader is flags(2) + count(2) + next(4) + prev(4).
	treeNodeHeader = 12
	maxLeafEntries = (pathsBlockSize - treeNodeHeader) / 8
)

// Bom entry types (the first byte of a path's metadata block).
const (
	BomFile      = 1
	BomDirectory = 2
	BomLink      = 3
)

// Bom metadata flags: low nibble 0xf = full metadata (0 = path-only
// Bom); high nibble = binary type: 1 Mach-O executable, 2 universal.
const (
	bomFlagsFull       = 0x000f
	bomBinaryMachO     = 1
	bomBinaryUniversal = 2
)

// BomArch is one architecture of a Mach-O file in a Bom: for a universal
// binary, one slice (its size and cksum CRC).
type BomArch struct {
	CPU      macho.Cpu
	SubCPU   uint32
	Size     uint32
	Checksum uint32
}

// BomEntry is one path as a Bom records it.
type BomEntry struct {
	Path     string // "." or "./opt/avscout" as lsbom prints it
	Type     uint8  // BomFile, BomDirectory, BomLink
	Mode     uint16 // st_mode, type bits included
	UID, GID uint32
	ModTime  time.Time
	Size     uint32
	Checksum uint32 // cksum CRC of the content or link target; 0 for directories
	Target   string // link target
	Arches   []BomArch
}

// be is a big-endian byte builder.
type be struct{ bytes.Buffer }

func (b *be) u8(v uint8)   { b.WriteByte(v) }
func (b *be) u16(v uint16) { b.Write(binary.BigEndian.AppendUint16(nil, v)) }
func (b *be) u32(v uint32) { b.Write(binary.BigEndian.AppendUint32(nil, v)) }

// bomWriter collects blocks; block 0 is the null block.
type bomWriter struct{ blocks [][]byte }

func (w *bomWriter) add(b []byte) uint32 {
	w.blocks = append(w.blocks, b)
	return uint32(len(w.blocks) - 1)
}

// reserve adds an empty block to be filled in later with set.
func (w *bomWriter) reserve() uint32        { return w.add(nil) }
func (w *bomWriter) set(i uint32, b []byte) { w.blocks[i] = b }

// node pads a tree node to the tree's block size (the callers keep nodes
// within it: at most maxLeafEntries entries).
func (w *bomWriter) node(size int, b *be) []byte {
	out := make([]byte, max(size, b.Len()))
	copy(out, b.Bytes())
	return out
}

// machOArches describes data as Bom architectures when it is a Mach-O
// file (thin or universal); binType is 0 for other files.
func machOArches(data []byte) (arches []BomArch, binType uint16) {
	if ff, err := macho.NewFatFile(bytes.NewReader(data)); err == nil {
		for _, a := range ff.Arches {
			end := uint64(a.Offset) + uint64(a.Size)
			if end > uint64(len(data)) {
				return nil, 0
			}
			arches = append(arches, BomArch{CPU: a.Cpu, SubCPU: a.SubCpu, Size: a.Size, Checksum: Cksum(data[a.Offset:end])})
		}
		return arches, bomBinaryUniversal
	}
	if f, err := macho.NewFile(bytes.NewReader(data)); err == nil {
		return []BomArch{{CPU: f.Cpu, SubCPU: f.SubCpu, Size: uint32(len(data)), Checksum: Cksum(data)}}, bomBinaryMachO
	}
	return nil, 0
}

// WriteBom writes the Bom of a payload. files must start with "." and
// list every directory before its contents (the order WriteCPIO writes
// them in, which Payload must match).
func WriteBom(w io.Writer, files []File) error {
	if err := checkTree(files); err != nil {
		return fmt.Errorf("bom: %w", err)
	}
	bw := &bomWriter{blocks: [][]byte{nil}}
	ids := make(map[string]uint32, len(files))
	type kv struct{ key, value uint32 }
	var entries []kv
	// BomInfo: total sizes per CPU type (0 = not Mach-O).
	perCPU := map[uint32]uint32{}
	for i, f := range files {
		id := uint32(i + 1)
		ids[f.Path] = id
		mode, _ := f.unixMode() // checked by checkTree
		size := f.size()
		if size > 1<<32-1 {
			return fmt.Errorf("bom %s: files over 4 GiB are not supported", f.Path)
		}
		var m be
		var arches []BomArch
		var binType uint16
		switch f.Mode.Type() {
		case fs.ModeDir:
			m.u8(BomDirectory)
		case fs.ModeSymlink:
			m.u8(BomLink)
		default:
			m.u8(BomFile)
			arches, binType = machOArches(f.Data)
		}
		m.u8(1)
		m.u16(binType<<12 | bomFlagsFull)
		m.u16(uint16(mode))
		m.u32(f.UID)
		m.u32(f.GID)
		m.u32(uint32(max(f.ModTime.Unix(), 0)))
		m.u32(uint32(size))
		m.u8(1)
		switch f.Mode.Type() {
		case fs.ModeDir:
		case fs.ModeSymlink:
			m.u32(Cksum([]byte(f.Target)))
			m.u32(uint32(len(f.Target) + 1))
			m.WriteString(f.Target)
			m.u8(0)
		default:
			m.u32(Cksum(f.Data))
			if binType != 0 {
				m.u8(1)
				m.u32(uint32(len(arches)))
				for _, a := range arches {
					m.u32(uint32(a.CPU))
					m.u32(a.SubCPU)
					m.u32(a.Size)
					m.u32(a.Checksum)
				}
			}
		}
		m.Write(make([]byte, 8))
		if binType != 0 {
			for _, a := range arches {
				perCPU[uint32(a.CPU)] += a.Size
			}
		} else {
			perCPU[0] += uint32(size)
		}
		meta := bw.add(m.Bytes())
		var key be
		key.u32(id)
		key.u32(meta)
		var val be
		parent := uint32(0)
		name := f.Path
		if f.Path != "." {
			parent = ids[path.Dir(f.Path)]
			name = path.Base(f.Path)
		}
		val.u32(parent)
		val.WriteString(name)
		val.u8(0)
		entries = append(entries, kv{bw.add(key.Bytes()), bw.add(val.Bytes())})
	}

	// The Paths tree: leaves of up to maxLeafEntries, chained, under one
	// meta node when there is more than one leaf.
	var leaves []uint32
	for start := 0; start < len(entries); start += maxLeafEntries {
		leaves = append(leaves, bw.reserve())
	}
	for li, start := 0, 0; start < len(entries); li, start = li+1, start+maxLeafEntries {
		chunk := entries[start:min(start+maxLeafEntries, len(entries))]
		var n be
		n.u16(1)
		n.u16(uint16(len(chunk)))
		next, prev := uint32(0), uint32(0)
		if li+1 < len(leaves) {
			next = leaves[li+1]
		}
		if li > 0 {
			prev = leaves[li-1]
		}
		n.u32(next)
		n.u32(prev)
		for _, e := range chunk {
			n.u32(e.key)
			n.u32(e.value)
		}
		bw.set(leaves[li], bw.node(pathsBlockSize, &n))
	}
	root := leaves[0]
	if len(leaves) > 1 {
		if len(leaves) > maxLeafEntries {
			return fmt.Errorf("bom: %d paths is more than one meta node holds", len(entries))
		}
		var n be
		n.u16(0)
		n.u16(uint16(len(leaves)))
		n.u32(0)
		n.u32(0)
		for li, l := range leaves {
			last := min((li+1)*maxLeafEntries, len(entries)) - 1
			n.u32(l)
			n.u32(entries[last].value)
		}
		root = bw.add(bw.node(pathsBlockSize, &n))
	}
	paths := bw.add(treeHeader(root, pathsBlockSize, uint32(len(entries))))
	emptyTree := func(blockSize int) uint32 {
		var n be
		n.u16(1)
		n.u16(0)
		n.u32(0)
		n.u32(0)
		leaf := bw.add(bw.node(blockSize, &n))
		return bw.add(treeHeader(leaf, uint32(blockSize), 0))
	}
	hlIndex := emptyTree(pathsBlockSize)
	size64 := emptyTree(smallTreeBlock)
	var vi be
	vi.u32(1)
	vi.u32(emptyTree(smallTreeBlock))
	vi.u32(0)
	vi.u8(1)
	vIndex := bw.add(vi.Bytes())

	var info be
	cpus := make([]uint32, 0, len(perCPU))
	for c := range perCPU {
		cpus = append(cpus, c)
	}
	sort.Slice(cpus, func(i, j int) bool { return cpus[i] < cpus[j] })
	info.u32(1)
	info.u32(uint32(len(files)))
	info.u32(uint32(len(cpus)))
	for _, c := range cpus {
		info.u32(c)
		info.u32(0)
		info.u32(perCPU[c])
		info.u32(0)
	}
	bomInfo := bw.add(info.Bytes())

	// Layout: header, blocks, block table, named blocks.
	var body be
	offsets := make([]uint32, len(bw.blocks))
	for i, b := range bw.blocks {
		if i == 0 {
			continue
		}
		offsets[i] = uint32(bomHeaderSize + body.Len())
		body.Write(b)
	}
	var table be
	table.u32(uint32(len(bw.blocks)))
	for i, b := range bw.blocks {
		table.u32(offsets[i])
		table.u32(uint32(len(b)))
	}
	table.u32(0) // no free blocks
	var vars be
	named := []struct {
		name  string
		index uint32
	}{{"BomInfo", bomInfo}, {"Paths", paths}, {"HLIndex", hlIndex}, {"VIndex", vIndex}, {"Size64", size64}}
	vars.u32(uint32(len(named)))
	for _, v := range named {
		vars.u32(v.index)
		vars.u8(uint8(len(v.name)))
		vars.WriteString(v.name)
	}
	tableOff := bomHeaderSize + body.Len()
	varsOff := tableOff + table.Len()
	var hdr be
	hdr.WriteString(bomMagic)
	hdr.u32(1)
	hdr.u32(uint32(len(bw.blocks) - 1))
	hdr.u32(uint32(tableOff))
	hdr.u32(uint32(table.Len()))
	hdr.u32(uint32(varsOff))
	hdr.u32(uint32(vars.Len()))
	out := make([]byte, 0, varsOff+vars.Len())
	out = append(out, hdr.Bytes()...)
	out = append(out, make([]byte, bomHeaderSize-hdr.Len())...)
	out = append(out, body.Bytes()...)
	out = append(out, table.Bytes()...)
	out = append(out, vars.Bytes()...)
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("bom: %w", err)
	}
	return nil
}

func treeHeader(root, blockSize, count uint32) []byte {
	var t be
	t.WriteString("tree")
	t.u32(1)
	t.u32(root)
	t.u32(blockSize)
	t.u32(count)
	t.u8(0)
	return t.Bytes()
}

// ErrBom marks a malformed Bom.
var ErrBom = errors.New("malformed bom")

// bomReader gives bounds-checked access to a Bom's blocks.
type bomReader struct {
	data  []byte
	table [][2]uint32 // offset, length per block index
}

func (r *bomReader) block(i uint32) ([]byte, error) {
	if i == 0 || int(i) >= len(r.table) {
		return nil, fmt.Errorf("%w: block index %d out of range", ErrBom, i)
	}
	off, n := r.table[i][0], r.table[i][1]
	if uint64(off)+uint64(n) > uint64(len(r.data)) {
		return nil, fmt.Errorf("%w: block %d (%d+%d) past the end", ErrBom, i, off, n)
	}
	return r.data[off : off+n], nil
}

// cur is a bounds-checked big-endian cursor over one block.
type cur struct {
	b   []byte
	err error
}

func (c *cur) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > len(c.b) {
		c.err = fmt.Errorf("%w: block too short", ErrBom)
		return nil
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}
func (c *cur) u8() uint8 {
	if b := c.take(1); b != nil {
		return b[0]
	}
	return 0
}
func (c *cur) u16() uint16 {
	if b := c.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}
func (c *cur) u32() uint32 {
	if b := c.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}
func (c *cur) cstr() string {
	if c.err != nil {
		return ""
	}
	i := bytes.IndexByte(c.b, 0)
	if i < 0 {
		c.err = fmt.Errorf("%w: string not NUL-terminated", ErrBom)
		return ""
	}
	s := string(c.b[:i])
	c.b = c.b[i+1:]
	return s
}

// ReadBom parses a Bom and returns its Paths entries in tree order, each
// with its full path as lsbom prints it ("." and "./a/b").
func ReadBom(data []byte) ([]BomEntry, error) {
	if len(data) < bomHeaderSize || string(data[:8]) != bomMagic {
		return nil, fmt.Errorf("%w: no BOMStore header", ErrBom)
	}
	h := cur{b: data[8:32]}
	if v := h.u32(); v != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrBom, v)
	}
	h.u32()
	tOff, tLen, vOff, vLen := h.u32(), h.u32(), h.u32(), h.u32()
	if uint64(tOff)+uint64(tLen) > uint64(len(data)) || uint64(vOff)+uint64(vLen) > uint64(len(data)) {
		return nil, fmt.Errorf("%w: block table or names past the end", ErrBom)
	}
	r := &bomReader{data: data}
	t := cur{b: data[tOff : tOff+tLen]}
	n := t.u32()
	if uint64(n)*8 > uint64(len(t.b)) {
		return nil, fmt.Errorf("%w: block table of %d entries in %d bytes", ErrBom, n, tLen)
	}
	r.table = make([][2]uint32, n)
	for i := range r.table {
		r.table[i] = [2]uint32{t.u32(), t.u32()}
	}
	v := cur{b: data[vOff : vOff+vLen]}
	names := map[string]uint32{}
	nv := v.u32()
	for i := uint32(0); i < nv && v.err == nil; i++ {
		idx := v.u32()
		l := v.u8()
		names[string(v.take(int(l)))] = idx
	}
	if v.err != nil || t.err != nil {
		return nil, errors.Join(v.err, t.err)
	}
	pi, ok := names["Paths"]
	if !ok {
		return nil, fmt.Errorf("%w: no Paths tree", ErrBom)
	}
	tb, err := r.block(pi)
	if err != nil {
		return nil, err
	}
	tc := cur{b: tb}
	if string(tc.take(4)) != "tree" || tc.u32() != 1 {
		return nil, fmt.Errorf("%w: Paths is not a tree", ErrBom)
	}
	node := tc.u32()
	if tc.err != nil {
		return nil, tc.err
	}
	// Descend to the leftmost leaf, then follow the leaf chain.
	seen := map[uint32]bool{}
	for {
		if seen[node] {
			return nil, fmt.Errorf("%w: tree loop at block %d", ErrBom, node)
		}
		seen[node] = true
		b, err := r.block(node)
		if err != nil {
			return nil, err
		}
		c := cur{b: b}
		leaf, count := c.u16(), c.u16()
		c.u32()
		c.u32()
		if leaf == 1 {
			break
		}
		if count == 0 {
			return nil, fmt.Errorf("%w: empty meta node %d", ErrBom, node)
		}
		node = c.u32()
		if c.err != nil {
			return nil, c.err
		}
	}
	type rec struct {
		parent uint32
		name   string
		e      BomEntry
	}
	byID := map[uint32]*rec{}
	var order []uint32
	for node != 0 {
		b, err := r.block(node)
		if err != nil {
			return nil, err
		}
		c := cur{b: b}
		if c.u16() != 1 {
			return nil, fmt.Errorf("%w: block %d in the leaf chain is not a leaf", ErrBom, node)
		}
		count := c.u16()
		next := c.u32()
		c.u32()
		for range count {
			kb, err := r.block(c.u32())
			if err != nil {
				return nil, err
			}
			vb, err := r.block(c.u32())
			if err != nil {
				return nil, err
			}
			k := cur{b: kb}
			id, meta := k.u32(), k.u32()
			val := cur{b: vb}
			parent, name := val.u32(), val.cstr()
			if k.err != nil || val.err != nil {
				return nil, errors.Join(k.err, val.err)
			}
			mb, err := r.block(meta)
			if err != nil {
				return nil, err
			}
			e, err := parseBomMeta(mb)
			if err != nil {
				return nil, fmt.Errorf("bom path %q: %w", name, err)
			}
			if _, dup := byID[id]; dup || id == 0 {
				return nil, fmt.Errorf("%w: path id %d repeated", ErrBom, id)
			}
			byID[id] = &rec{parent: parent, name: name, e: e}
			order = append(order, id)
		}
		if c.err != nil {
			return nil, c.err
		}
		if next != 0 && seen[next] {
			return nil, fmt.Errorf("%w: leaf loop at block %d", ErrBom, next)
		}
		seen[next] = true
		node = next
	}
	out := make([]BomEntry, 0, len(order))
	for _, id := range order {
		rc := byID[id]
		full := rc.name
		p := rc.parent
		for depth := 0; p != 0; depth++ {
			pr, ok := byID[p]
			if !ok || depth > len(byID) {
				return nil, fmt.Errorf("%w: path %q has a missing or looping parent %d", ErrBom, rc.name, p)
			}
			full = pr.name + "/" + full
			p = pr.parent
		}
		rc.e.Path = full
		out = append(out, rc.e)
	}
	return out, nil
}

func parseBomMeta(b []byte) (BomEntry, error) {
	c := cur{b: b}
	var e BomEntry
	e.Type = c.u8()
	c.u8()
	flags := c.u16()
	if flags&0xf == 0 {
		return e, c.err // path-only Bom
	}
	e.Mode = c.u16()
	e.UID, e.GID = c.u32(), c.u32()
	e.ModTime = time.Unix(int64(c.u32()), 0).UTC()
	e.Size = c.u32()
	c.u8()
	switch e.Type {
	case BomFile:
		e.Checksum = c.u32()
		if flags>>12 != 0 {
			c.u8()
			n := c.u32()
			if uint64(n)*16 > uint64(len(c.b)) {
				return e, fmt.Errorf("%w: %d architectures in a %d-byte block", ErrBom, n, len(b))
			}
			for range n {
				e.Arches = append(e.Arches, BomArch{CPU: macho.Cpu(c.u32()), SubCPU: c.u32(), Size: c.u32(), Checksum: c.u32()})
			}
		}
	case BomLink:
		e.Checksum = c.u32()
		n := c.u32()
		t := c.take(int(min(n, 1<<20)))
		if len(t) == 0 || t[len(t)-1] != 0 {
			if c.err == nil {
				c.err = fmt.Errorf("%w: link target not NUL-terminated", ErrBom)
			}
		} else {
			e.Target = string(t[:len(t)-1])
		}
	case BomDirectory:
	default:
		return e, fmt.Errorf("%w: entry type %d", ErrBom, e.Type)
	}
	return e, c.err
}
