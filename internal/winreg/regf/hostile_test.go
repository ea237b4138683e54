package regf

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// TestHostileHives opens hives broken in the ways a planted or damaged
// file may be, each from the hive hivex wrote from testdata/types.reg,
// and expects a clear error naming the hive (and the offset at fault)
// within seconds, whether at Open or while walking the whole tree.
func TestHostileHives(t *testing.T) {
	good := typesHive(t)
	root := le.Uint32(good[36:])
	h := openBytes(t, good, Options{})
	vendor := keyAt(t, h, "Vendor")
	product := keyAt(t, h, `Vendor\Product`)
	var count vkRec
	_ = h.eachValue(&product.rec, func(v vkRec) (bool, error) {
		if v.name == "DisplayName" {
			count = v
			return true, nil
		}
		return false, nil
	})

	tests := []struct {
		name   string
		mutate func(f hiveFile) hiveFile
		want   string
	}{
		{"empty file", func(f hiveFile) hiveFile { return f[:0] }, "truncated: 0 bytes"},
		{"truncated base block", func(f hiveFile) hiveFile { return f[:1000] }, "truncated: 1000 bytes"},
		{"truncated hive bins", func(f hiveFile) hiveFile { return f[:len(f)-pageSize] }, "truncated"},
		{"truncated mid-page", func(f hiveFile) hiveFile { return f[:len(f)-100] }, "truncated"},
		{"not a hive", func(f hiveFile) hiveFile { copy(f, "MZ\x90\x00"); return f }, "not a registry hive"},
		{"bad checksum", func(f hiveFile) hiveFile { f[48] ^= 1; return f }, "checksum is wrong"},
		{"2 GiB declared", func(f hiveFile) hiveFile {
			le.PutUint32(f[40:], 0x80000000)
			f.fixChecksum()
			return f
		}, "declares 2147483648 bytes of hive bins"},
		{"4 GiB declared", func(f hiveFile) hiveFile {
			le.PutUint32(f[40:], 0xFFFFF000)
			f.fixChecksum()
			return f
		}, "up to 2 GiB"},
		{"bins size not whole pages", func(f hiveFile) hiveFile {
			le.PutUint32(f[40:], 4097)
			f.fixChecksum()
			return f
		}, "not a positive multiple"},
		{"transaction log, not a hive", func(f hiveFile) hiveFile {
			le.PutUint32(f[28:], 6)
			f.fixChecksum()
			return f
		}, "file type 6"},
		{"version 2", func(f hiveFile) hiveFile {
			le.PutUint32(f[20:], 2)
			f.fixChecksum()
			return f
		}, "format version 2"},
		{"first bin not hbin", func(f hiveFile) hiveFile { copy(f[baseBlockSize:], "nbih"); return f }, "no hbin header"},
		{"root outside hive bins", func(f hiveFile) hiveFile {
			le.PutUint32(f[36:], f.binsSize()+64)
			f.fixChecksum()
			return f
		}, "root cell offset"},
		{"root unaligned", func(f hiveFile) hiveFile {
			le.PutUint32(f[36:], root+2)
			f.fixChecksum()
			return f
		}, "not a multiple of 8"},
		{"root in the bin header", func(f hiveFile) hiveFile {
			le.PutUint32(f[36:], 8)
			f.fixChecksum()
			return f
		}, "inside the first hive bin's header"},
		{"root not a key node", func(f hiveFile) hiveFile { f.setU16(root+4, 0x7a7a); return f }, `not a key node (signature "zz")`},
		{"root cell size zero", func(f hiveFile) hiveFile { f.setU32(root, 0); return f }, "unallocated (size 0)"},
		{"root cell free", func(f hiveFile) hiveFile { f.setU32(root, 96); return f }, "unallocated (size 96)"},
		{"root cell size -4", func(f hiveFile) hiveFile { f.setU32(root, uint32(0xFFFFFFFC)); return f }, "cell size 4 is too small"},
		{"root cell larger than the hive", func(f hiveFile) hiveFile { f.setU32(root, 0x80000008); return f }, "run past the"},
		{"subkey list unaligned", func(f hiveFile) hiveFile { f.setU32(root+4+28, f.u32(root+4+28)+3); return f }, "not a multiple of 8"},
		{"subkey list outside hive bins", func(f hiveFile) hiveFile { f.setU32(root+4+28, 0x7FFFFFF8); return f }, "outside the"},
		{"subkey list not a list", func(f hiveFile) hiveFile { f.setU32(root+4+28, root); return f }, `not a subkey list (signature "nk")`},
		{"subkey list that points at itself", func(f hiveFile) hiveFile {
			self := f.binsSize() + binHeaderSize // the first cell of the next bin
			ri := []byte{'r', 'i', 1, 0, 0, 0, 0, 0}
			le.PutUint32(ri[4:], self)
			f, offs := f.appendBin(ri)
			if offs[0] != self {
				t.Fatalf("ri at %#x, want %#x", offs[0], self)
			}
			f.setU32(root+4+28, self)
			return f
		}, "reached twice: a cycle"},
		{"index roots nested deep", func(f hiveFile) hiveFile {
			next := f.u32(root + 4 + 28)
			for range 10 {
				ri := []byte{'r', 'i', 1, 0, 0, 0, 0, 0}
				le.PutUint32(ri[4:], next)
				var offs []uint32
				f, offs = f.appendBin(ri)
				next = offs[0]
			}
			f.setU32(root+4+28, next)
			return f
		}, "nested more than"},
		{"key that is its own subkey", func(f hiveFile) hiveFile {
			f, offs := f.appendBin(leaf("li", []uint32{root}, nil))
			f.setU32(root+4+28, offs[0])
			f.setU32(root+4+20, 1)
			return f
		}, "its own ancestor: a cycle"},
		{"subkey list longer than its cell", func(f hiveFile) hiveFile {
			f.setU16(f.u32(root+4+28)+4+2, 0xFFFF)
			return f
		}, "do not fit its"},
		{"key name of 64 KiB", func(f hiveFile) hiveFile { f.setU16(vendor.rec.off+4+72, 0xFFFF); return f }, "longer than 1024"},
		{"key name past its cell", func(f hiveFile) hiveFile { f.setU16(vendor.rec.off+4+72, 1000); return f }, "runs past its"},
		{"value name past its cell", func(f hiveFile) hiveFile { f.setU16(count.off+4+2, 5000); return f }, "value name of 5000 bytes runs past"},
		{"inline value of 16 bytes", func(f hiveFile) hiveFile { f.setU32(count.off+4+4, 0x80000010); return f }, "cannot be stored in the value"},
		{"value data outside hive bins", func(f hiveFile) hiveFile { f.setU32(count.off+4+8, 0xFFFFFFF0); return f }, "outside the"},
		{"value data longer than its cell", func(f hiveFile) hiveFile { f.setU32(count.off+4+4, 1000); return f }, "does not fit its"},
		{"4 billion values", func(f hiveFile) hiveFile { f.setU32(product.rec.off+4+36, 0xFFFFFFFF); return f }, "does not fit its"},
		{"value list entry not a value", func(f hiveFile) hiveFile {
			f.setU32(product.rec.valList+4, root)
			return f
		}, `not a value (signature "nk")`},
		{"big data with too few segments", func(f hiveFile) hiveFile {
			db := []byte{'d', 'b', 1, 0, 0, 0, 0, 0}
			seg := make([]byte, bigDataSegment)
			f, offs := f.appendBin(seg)
			list := make([]byte, 4)
			le.PutUint32(list, offs[0])
			f, lo := f.appendBin(list)
			le.PutUint32(db[4:], lo[0])
			f, dbo := f.appendBin(db)
			f.setU32(count.off+4+8, dbo[0])
			f.setU32(count.off+4+4, 3*bigDataSegment)
			return f
		}, "big data record of 1 segments cannot hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.mutate(slices.Clone(good))
			var err error
			within(t, 10*time.Second, func() {
				var h *Hive
				h, err = Open(bytes.NewReader(f), int64(len(f)), "TEST", Options{})
				if err != nil {
					return
				}
				var k *key
				r, rerr := h.Root()
				if rerr != nil {
					err = rerr
					return
				}
				k = r.(*key)
				budget := 10_000
				_, _, err = walk(k, 0, &budget)
				if err == nil {
					// A value list is read by name too.
					_, err = keyAt(t, h, `Vendor\Product`).Value("DisplayName")
				}
			})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "TEST") {
				t.Errorf("error %q, want one naming the hive (TEST) and saying %q", err, tt.want)
			}
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) || !errors.Is(err, winreg.ErrHiveUnavailable) {
				t.Errorf("error %q does not wrap ErrCorrupt and winreg.ErrHiveUnavailable", err)
			}
			if errors.Is(err, winreg.ErrNotExist) {
				t.Errorf("error %q says the key or value does not exist", err)
			}
		})
	}
}

// failingAt reads b, but fails past off, as a bad sector of a damaged
// disk would.
type failingAt struct {
	b   []byte
	off int64
}

var errBadSector = errors.New("input/output error")

func (f failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.off {
		return 0, errBadSector
	}
	return copy(p, f.b[off:]), nil
}

// A hive whose file cannot be read past its first hive bin opens, and
// the keys beyond fail with an error that keeps the cause and says the
// hive is not read in full: no key there reads as missing.
func TestReadError(t *testing.T) {
	f := readHive(t, regftest.SoftwarePrefix, manyReg(300))
	if len(f) < 4*pageSize {
		t.Fatalf("hive of %d bytes: want more than a few pages", len(f))
	}
	h, err := Open(failingAt{f, baseBlockSize + pageSize}, int64(len(f)), "TEST", Options{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	budget := 10_000
	_, _, err = walk(root, 0, &budget)
	if !errors.Is(err, errBadSector) || !errors.Is(err, winreg.ErrHiveUnavailable) || errors.Is(err, winreg.ErrNotExist) {
		t.Errorf("walk: %v, want the read error and ErrHiveUnavailable", err)
	}
}
