package regf

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

var le = binary.LittleEndian

// hiveFile is a hive's bytes, which tests change to make hostile or
// restructured hives. Offsets named "bins" are relative to the hive bins
// data, as in the format; the file offset is 4096 more.
type hiveFile []byte

func (f hiveFile) binsSize() uint32 { return le.Uint32(f[40:]) }

func (f hiveFile) u32(bins uint32) uint32 { return le.Uint32(f[baseBlockSize+bins:]) }

func (f hiveFile) setU32(bins, v uint32) { le.PutUint32(f[baseBlockSize+bins:], v) }

func (f hiveFile) setU16(bins uint32, v uint16) { le.PutUint16(f[baseBlockSize+bins:], v) }

// fixChecksum rewrites the base block's checksum.
func (f hiveFile) fixChecksum() { le.PutUint32(f[508:], regftest.Checksum(f[:508])) }

// appendBin appends a hive bin holding the given cells' data, each an
// allocated cell, and returns the hive and the bins offset of each cell.
func (f hiveFile) appendBin(cells ...[]byte) (hiveFile, []uint32) {
	start := f.binsSize()
	need := binHeaderSize
	for _, c := range cells {
		need += align8(4 + len(c))
	}
	size := (need + 8 + pageSize - 1) / pageSize * pageSize
	bin := make([]byte, size)
	copy(bin, "hbin")
	le.PutUint32(bin[4:], start)
	le.PutUint32(bin[8:], uint32(size))
	pos := binHeaderSize
	var offs []uint32
	for _, c := range cells {
		n := align8(4 + len(c))
		le.PutUint32(bin[pos:], uint32(-int32(n)))
		copy(bin[pos+4:], c)
		offs = append(offs, start+uint32(pos))
		pos += n
	}
	le.PutUint32(bin[pos:], uint32(size-pos)) // the rest is free
	out := append(f[:baseBlockSize+int(start):baseBlockSize+int(start)], bin...)
	le.PutUint32(out[40:], start+uint32(size))
	hiveFile(out).fixChecksum()
	return out, offs
}

func align8(n int) int { return (n + 7) &^ 7 }

// openBytes opens hive bytes.
func openBytes(t testing.TB, b []byte, opts Options) *Hive {
	t.Helper()
	h, err := Open(bytes.NewReader(b), int64(len(b)), "TEST", opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// keyAt opens the key at path and returns its key node record.
func keyAt(t testing.TB, h *Hive, path string) *key {
	t.Helper()
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	k, err := root.OpenSubKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*key)
}

// subKeyOffsets lists the key node offsets of a key's subkeys.
func subKeyOffsets(t testing.TB, h *Hive, k *key) (offs []uint32, names []string) {
	t.Helper()
	err := h.eachSubKey(&k.rec, func(off uint32) (bool, error) {
		rec, err := h.readNK(off)
		offs, names = append(offs, off), append(names, rec.name)
		return false, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return offs, names
}

// leaf builds a subkey list cell of kind sig ("li", "lf", "lh").
func leaf(sig string, offs []uint32, names []string) []byte {
	elem := 4
	if sig != "li" {
		elem = 8
	}
	b := make([]byte, 4+elem*len(offs))
	copy(b, sig)
	le.PutUint16(b[2:], uint16(len(offs)))
	for i, off := range offs {
		p := b[4+elem*i:]
		le.PutUint32(p, off)
		switch sig {
		case "lf":
			copy(p[4:8], names[i]) // the first four characters (ASCII here)
		case "lh":
			le.PutUint32(p[4:], nameHash(names[i]))
		}
	}
	return b
}

// nameHash is the lh hash of a name: H = 37*H + c over its upper-case
// UTF-16 code units.
func nameHash(name string) uint32 {
	var h uint32
	for _, u := range utf16.Encode([]rune(strings.ToUpper(name))) {
		h = 37*h + uint32(u)
	}
	return h
}

// restructure rewrites the subkey list of the key at path as an index
// root over leaves of sig holding per entries each, in a new hive bin.
func restructure(t testing.TB, f hiveFile, path, sig string, per int) hiveFile {
	t.Helper()
	h := openBytes(t, f, Options{})
	k := keyAt(t, h, path)
	offs, names := subKeyOffsets(t, h, k)
	var leaves [][]byte
	for i := 0; i < len(offs); i += per {
		j := min(i+per, len(offs))
		leaves = append(leaves, leaf(sig, offs[i:j], names[i:j]))
	}
	f, leafOffs := f.appendBin(leaves...)
	ri := make([]byte, 4+4*len(leafOffs))
	copy(ri, "ri")
	le.PutUint16(ri[2:], uint16(len(leafOffs)))
	for i, o := range leafOffs {
		le.PutUint32(ri[4+4*i:], o)
	}
	f, riOff := f.appendBin(ri)
	f.setU32(k.rec.off+4+28, riOff[0])
	return f
}

// toBigData moves the data of value name of the key at path into a big
// data (db) record with 16344-byte segments, in a new hive bin.
func toBigData(t testing.TB, f hiveFile, path, name string) hiveFile {
	t.Helper()
	h := openBytes(t, f, Options{})
	k := keyAt(t, h, path)
	var vk vkRec
	if err := h.eachValue(&k.rec, func(v vkRec) (bool, error) {
		if v.name == name {
			vk = v
			return true, nil
		}
		return false, nil
	}); err != nil || vk.off == 0 {
		t.Fatalf("value %q of %s: %v", name, path, err)
	}
	data, err := h.data(vk)
	if err != nil {
		t.Fatal(err)
	}
	var segs [][]byte
	for i := 0; i < len(data); i += bigDataSegment {
		segs = append(segs, data[i:min(i+bigDataSegment, len(data))])
	}
	f, segOffs := f.appendBin(segs...)
	list := make([]byte, 4*len(segOffs))
	for i, o := range segOffs {
		le.PutUint32(list[4*i:], o)
	}
	f, listOff := f.appendBin(list)
	db := make([]byte, 8)
	copy(db, "db")
	le.PutUint16(db[2:], uint16(len(segOffs)))
	le.PutUint32(db[4:], listOff[0])
	f, dbOff := f.appendBin(db)
	f.setU32(vk.off+4+8, dbOff[0])
	return f
}

// readHive writes a hive from .reg text with hivexregedit and returns its
// bytes.
func readHive(t testing.TB, prefix, reg string) hiveFile {
	t.Helper()
	b, err := os.ReadFile(regftest.Hive(t, prefix, reg))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// within fails the test if fn takes longer than d: hostile input must
// never hang the reader.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
	}
}

// walk reads every key and value below k, depth first, up to limits, and
// returns how many keys and values it read and the first error.
func walk(k winreg.Key, depth int, budget *int) (keys, values int, err error) {
	if *budget--; *budget < 0 || depth > 64 {
		return 0, 0, nil
	}
	vals, err := k.ValueNames()
	for _, v := range vals {
		if _, verr := k.Value(v); verr != nil && err == nil {
			err = verr
		}
		values++
	}
	subs, serr := k.SubKeyNames()
	if err == nil {
		err = serr
	}
	keys = 1
	for _, s := range subs {
		sk, oerr := k.OpenSubKey(s)
		if oerr != nil {
			if err == nil {
				err = oerr
			}
			continue
		}
		k2, v2, werr := walk(sk, depth+1, budget)
		keys, values = keys+k2, values+v2
		if err == nil {
			err = werr
		}
		sk.Close()
	}
	return keys, values, err
}
