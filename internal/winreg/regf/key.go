package regf

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/winreg"
)

// Key node (nk) fields, from the start of the cell data.
const (
	nkHeaderSize = 76
	nkCompName   = 0x0020 // KEY_COMP_NAME: the name is Latin-1
	vkHeaderSize = 20
	vkCompName   = 0x0001 // the value name is Latin-1
	inlineData   = 0x80000000
)

type nkRec struct {
	off      uint32
	flags    uint16
	written  uint64 // FILETIME
	nSubKeys uint32
	subList  uint32
	nValues  uint32
	valList  uint32
	name     string
}

func (h *Hive) readNK(off uint32) (nkRec, error) {
	b, n, err := h.cell(off, nkHeaderSize, "key node")
	if err != nil {
		return nkRec{}, err
	}
	if string(b[:2]) != "nk" {
		return nkRec{}, h.cellErr(off, "not a key node (signature %q)", b[:2])
	}
	le := binary.LittleEndian
	r := nkRec{
		off: off, flags: le.Uint16(b[2:]), written: le.Uint64(b[4:]),
		nSubKeys: le.Uint32(b[20:]), subList: le.Uint32(b[28:]),
		nValues: le.Uint32(b[36:]), valList: le.Uint32(b[40:]),
	}
	nameLen := int(le.Uint16(b[72:]))
	if nameLen > maxKeyNameLen {
		return nkRec{}, h.cellErr(off, "key name of %d bytes is longer than %d", nameLen, maxKeyNameLen)
	}
	if nkHeaderSize+nameLen > n {
		return nkRec{}, h.cellErr(off, "key name of %d bytes runs past its %d-byte cell", nameLen, n+4)
	}
	name, err := h.read(off+4+nkHeaderSize, nameLen)
	if err != nil {
		return nkRec{}, err
	}
	r.name = decodeName(name, r.flags&nkCompName != 0)
	return r, nil
}

// eachSubKey calls fn with the offset of each key node in the subkey list
// of k, in list order, until fn says stop. More than MaxSubKeys entries is
// an error wrapping winreg.ErrTooLarge after the first MaxSubKeys calls.
func (h *Hive) eachSubKey(k *nkRec, fn func(off uint32) (stop bool, err error)) error {
	if k.nSubKeys == 0 || k.subList == noOffset {
		return nil
	}
	visited := map[uint32]bool{}
	count := 0
	var walk func(list uint32, depth int) (bool, error)
	walk = func(list uint32, depth int) (bool, error) {
		if visited[list] {
			return true, h.cellErr(list, "subkey list of key node %#x is reached twice: a cycle", k.off)
		}
		visited[list] = true
		b, n, err := h.cell(list, 4, "subkey list")
		if err != nil {
			return true, err
		}
		sig, entries := string(b[:2]), int(binary.LittleEndian.Uint16(b[2:]))
		elem := 4
		switch sig {
		case "li", "ri":
		case "lf", "lh":
			elem = 8
		default:
			return true, h.cellErr(list, "not a subkey list (signature %q)", b[:2])
		}
		if sig == "ri" && depth >= maxRiDepth {
			return true, h.cellErr(list, "index roots nested more than %d deep", maxRiDepth)
		}
		if 4+entries*elem > n {
			return true, h.cellErr(list, "%d entries of a %q list do not fit its %d-byte cell", entries, sig, n+4)
		}
		data, err := h.read(list+8, entries*elem)
		if err != nil {
			return true, err
		}
		for i := range entries {
			off := binary.LittleEndian.Uint32(data[i*elem:])
			if sig == "ri" {
				if stop, err := walk(off, depth+1); stop || err != nil {
					return true, err
				}
				continue
			}
			if count++; count > h.opts.MaxSubKeys {
				return true, fmt.Errorf("key node at offset %#x: more than %d subkeys, the rest were not read: %w", k.off, h.opts.MaxSubKeys, winreg.ErrTooLarge)
			}
			if stop, err := fn(off); stop || err != nil {
				return true, err
			}
		}
		return false, nil
	}
	_, err := walk(k.subList, 0)
	return err
}

type vkRec struct {
	off     uint32
	name    string
	size    uint32
	dataOff uint32
	typ     uint32
}

func (h *Hive) readVK(off uint32) (vkRec, error) {
	b, n, err := h.cell(off, vkHeaderSize, "value")
	if err != nil {
		return vkRec{}, err
	}
	if string(b[:2]) != "vk" {
		return vkRec{}, h.cellErr(off, "not a value (signature %q)", b[:2])
	}
	le := binary.LittleEndian
	v := vkRec{off: off, size: le.Uint32(b[4:]), dataOff: le.Uint32(b[8:]), typ: le.Uint32(b[12:])}
	nameLen := int(le.Uint16(b[2:]))
	if vkHeaderSize+nameLen > n {
		return vkRec{}, h.cellErr(off, "value name of %d bytes runs past its %d-byte cell", nameLen, n+4)
	}
	name, err := h.read(off+4+vkHeaderSize, nameLen)
	if err != nil {
		return vkRec{}, err
	}
	v.name = decodeName(name, le.Uint16(b[16:])&vkCompName != 0)
	return v, nil
}

// eachValue calls fn with each value of k until fn says stop. More than
// MaxValues values is an error wrapping winreg.ErrTooLarge after the first
// MaxValues calls.
func (h *Hive) eachValue(k *nkRec, fn func(v vkRec) (stop bool, err error)) error {
	if k.nValues == 0 || k.valList == noOffset {
		return nil
	}
	count := int(min(k.nValues, uint32(h.opts.MaxValues)))
	_, n, err := h.cell(k.valList, 0, "value list")
	if err != nil {
		return err
	}
	if uint64(k.nValues)*4 > uint64(n) {
		return h.cellErr(k.valList, "value list of %d entries does not fit its %d-byte cell", k.nValues, n+4)
	}
	data, err := h.read(k.valList+4, 4*count)
	if err != nil {
		return err
	}
	for i := range count {
		v, err := h.readVK(binary.LittleEndian.Uint32(data[4*i:]))
		if err != nil {
			return err
		}
		if stop, err := fn(v); stop || err != nil {
			return err
		}
	}
	if int(k.nValues) > count {
		return fmt.Errorf("key node at offset %#x: %d values, more than %d, the rest were not read: %w", k.off, k.nValues, h.opts.MaxValues, winreg.ErrTooLarge)
	}
	return nil
}

// data reads a value's data as the registry stores it.
func (h *Hive) data(v vkRec) ([]byte, error) {
	if v.size&inlineData != 0 {
		n := v.size &^ inlineData
		if n > 4 {
			return nil, h.cellErr(v.off, "value data of %d bytes cannot be stored in the value (at most 4)", n)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v.dataOff)
		return b[:n:n], nil
	}
	size := int64(v.size)
	if size == 0 {
		return []byte{}, nil
	}
	if size > int64(h.opts.MaxValueSize) {
		return nil, fmt.Errorf("value at offset %#x: %d bytes, more than %d: %w", v.off, size, h.opts.MaxValueSize, winreg.ErrTooLarge)
	}
	b, n, err := h.cell(v.dataOff, 2, "value data")
	if err != nil {
		return nil, err
	}
	if size <= int64(n) {
		return h.read(v.dataOff+4, int(size))
	}
	// Data longer than its cell is big data: a db record listing
	// segments of 16344 bytes each.
	if string(b[:2]) != "db" || size <= bigDataSegment {
		return nil, h.cellErr(v.dataOff, "value data of %d bytes does not fit its %d-byte cell", size, n+4)
	}
	db, _, err := h.cell(v.dataOff, 8, "big data record")
	if err != nil {
		return nil, err
	}
	segs := int(binary.LittleEndian.Uint16(db[2:]))
	listOff := binary.LittleEndian.Uint32(db[4:])
	if need := int((size + bigDataSegment - 1) / bigDataSegment); segs < need {
		return nil, h.cellErr(v.dataOff, "big data record of %d segments cannot hold %d bytes", segs, size)
	}
	_, ln, err := h.cell(listOff, 0, "big data segment list")
	if err != nil {
		return nil, err
	}
	if segs*4 > ln {
		return nil, h.cellErr(listOff, "segment list of %d entries does not fit its %d-byte cell", segs, ln+4)
	}
	list, err := h.read(listOff+4, segs*4)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	for i := 0; int64(len(out)) < size; i++ {
		seg := binary.LittleEndian.Uint32(list[4*i:])
		want := int(min(size-int64(len(out)), bigDataSegment))
		if _, sn, err := h.cell(seg, 0, "big data segment"); err != nil {
			return nil, err
		} else if sn < want {
			return nil, h.cellErr(seg, "big data segment of %d bytes is shorter than its %d bytes of data", sn+4, want)
		}
		part, err := h.read(seg+4, want)
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	return out, nil
}

// Root returns the hive's root key. Its name, in errors, is the hive's.
func (h *Hive) Root() (winreg.Key, error) {
	rec, err := h.readNK(h.base.root)
	if err != nil {
		return nil, fmt.Errorf("%s: root key: %w", h.name, err)
	}
	return &key{h: h, rec: rec, name: h.name}, nil
}

// key is a key of a hive, a [winreg.Key].
type key struct {
	h      *Hive
	rec    nkRec
	name   string // hive name and path, for errors
	depth  int
	parent *key

	mu       sync.Mutex
	vals     []vkRec // the values, read once
	valsErr  error
	valsRead bool
}

var _ winreg.Key = (*key)(nil)

// foldName is the form of a name that lookups compare: Windows compares
// key and value names upper-cased.
func foldName(s string) string { return strings.ToUpper(s) }

// sameName reports whether foldName(a) == foldName(b), without
// allocating when both are ASCII.
func sameName(a, b string) bool {
	if len(a) != len(b) {
		// Only non-ASCII text may change length in upper case.
		return (!isASCII(a) || !isASCII(b)) && foldName(a) == foldName(b)
	}
	for i := range len(a) {
		ca, cb := a[i], b[i]
		if ca >= 0x80 || cb >= 0x80 {
			return foldName(a[i:]) == foldName(b[i:])
		}
		if 'a' <= ca && ca <= 'z' {
			ca -= 'a' - 'A'
		}
		if 'a' <= cb && cb <= 'z' {
			cb -= 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// indexMin is the number of subkeys from which a key's subkey names are
// indexed on the first lookup, so that opening each of a few thousand
// uninstall entries does not read every sibling's key node again.
const indexMin = 64

// lookup finds the subkey of k named name, case-insensitively.
func (k *key) lookup(name string) (nkRec, bool, error) {
	if k.rec.nSubKeys >= indexMin {
		if idx := k.h.index(&k.rec); idx != nil {
			off, ok := idx[foldName(name)]
			if !ok {
				return nkRec{}, false, nil
			}
			rec, err := k.h.readNK(off)
			return rec, err == nil, err
		}
	}
	var found nkRec
	ok := false
	err := k.h.eachSubKey(&k.rec, func(off uint32) (bool, error) {
		rec, err := k.h.readNK(off)
		if err != nil {
			return true, err
		}
		if sameName(rec.name, name) {
			found, ok = rec, true
			return true, nil
		}
		return false, nil
	})
	if ok {
		err = nil // a later entry's trouble does not hide a found key
	}
	return found, ok, err
}

// index returns the folded names of the subkeys of the key node rec and
// their offsets, from a small cache of the hive's; nil when the list
// cannot be read whole (then lookups read it entry by entry, and meet the
// error or find the key before it).
func (h *Hive) index(rec *nkRec) map[string]uint32 {
	h.idxMu.Lock()
	idx, ok := h.idx[rec.off]
	h.idxMu.Unlock()
	if ok {
		return idx
	}
	idx = make(map[string]uint32, rec.nSubKeys)
	err := h.eachSubKey(rec, func(off uint32) (bool, error) {
		sub, err := h.readNK(off)
		if err != nil {
			return true, err
		}
		if f := foldName(sub.name); idx[f] == 0 {
			idx[f] = off
		}
		return false, nil
	})
	if err != nil {
		idx = nil
	}
	h.idxMu.Lock()
	defer h.idxMu.Unlock()
	if h.idx == nil {
		h.idx = make(map[uint32]map[string]uint32)
	}
	// A bounded cache: the oldest indexes go first.
	for len(h.idxOrder) > 0 && (len(h.idxOrder) >= maxIndexes || h.idxNames+len(idx) > maxIndexNames) {
		old := h.idxOrder[0]
		h.idxOrder = h.idxOrder[1:]
		h.idxNames -= len(h.idx[old])
		delete(h.idx, old)
	}
	if _, dup := h.idx[rec.off]; !dup && len(idx) <= maxIndexNames {
		h.idx[rec.off] = idx
		h.idxOrder = append(h.idxOrder, rec.off)
		h.idxNames += len(idx)
	}
	return idx
}

// Bounds of the hive's cache of subkey name indexes.
const (
	maxIndexes    = 32
	maxIndexNames = 200_000
)

func (k *key) OpenSubKey(path string) (winreg.Key, error) {
	path = strings.Trim(path, `\`)
	name := k.name + `\` + path
	cur := k
	if path == "" {
		return &key{h: k.h, rec: k.rec, name: k.name, depth: k.depth, parent: k.parent}, nil
	}
	for _, c := range strings.Split(path, `\`) {
		if c == "" {
			return nil, fmt.Errorf("open %s: %w", name, winreg.ErrNotExist)
		}
		if cur.depth+1 > k.h.opts.MaxDepth {
			return nil, fmt.Errorf("open %s: more than %d keys deep: %w", name, k.h.opts.MaxDepth, winreg.ErrTooLarge)
		}
		rec, ok, err := cur.lookup(c)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		if !ok {
			return nil, fmt.Errorf("open %s: %w", name, winreg.ErrNotExist)
		}
		for a := cur; a != nil; a = a.parent {
			if a.rec.off == rec.off {
				return nil, fmt.Errorf("open %s: %w", name, k.h.cellErr(rec.off, "key node is its own ancestor: a cycle"))
			}
		}
		cur = &key{h: k.h, rec: rec, name: cur.name + `\` + c, depth: cur.depth + 1, parent: cur}
	}
	return cur, nil
}

func (k *key) SubKeyNames() ([]string, error) {
	var names []string
	err := k.h.eachSubKey(&k.rec, func(off uint32) (bool, error) {
		rec, err := k.h.readNK(off)
		if err != nil {
			return true, err
		}
		names = append(names, rec.name)
		return false, nil
	})
	if err != nil {
		return names, fmt.Errorf("%s: list subkeys: %w", k.name, err)
	}
	return names, nil
}

// values reads the key's value records once: the first MaxValues, and the
// error that stopped the reading.
func (k *key) values() ([]vkRec, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.valsRead {
		k.valsErr = k.h.eachValue(&k.rec, func(v vkRec) (bool, error) {
			k.vals = append(k.vals, v)
			return false, nil
		})
		k.valsRead = true
	}
	return k.vals, k.valsErr
}

func (k *key) ValueNames() ([]string, error) {
	vals, err := k.values()
	names := make([]string, len(vals))
	for i, v := range vals {
		names[i] = v.name
	}
	if err != nil {
		return names, fmt.Errorf("%s: list values: %w", k.name, err)
	}
	return names, nil
}

func (k *key) Value(name string) (winreg.Value, error) {
	vals, err := k.values()
	i := slices.IndexFunc(vals, func(v vkRec) bool { return sameName(v.name, name) })
	if i < 0 {
		if err != nil {
			return winreg.Value{}, fmt.Errorf("%s value %q: %w", k.name, name, err)
		}
		return winreg.Value{}, fmt.Errorf("%s value %q: %w", k.name, name, winreg.ErrNotExist)
	}
	found := vals[i]
	data, err := k.h.data(found)
	if err != nil {
		return winreg.Value{Type: winreg.Type(found.typ)}, fmt.Errorf("%s value %q: %w", k.name, name, err)
	}
	return winreg.Value{Type: winreg.Type(found.typ), Data: data}, nil
}

// ModTime is the key's last-written time, UTC; the zero time when the
// hive holds none.
func (k *key) ModTime() (time.Time, error) { return winreg.FileTime(k.rec.written), nil }

func (k *key) Close() error { return nil }

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
