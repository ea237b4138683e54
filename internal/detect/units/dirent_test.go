package units

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"testing"
)

// record is one linux_dirent64 as the kernel writes it, padded to 8.
func record(name string, typ byte) []byte {
	n := direntHeader + len(name) + 1
	n = (n + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b[0:], 1)
	binary.NativeEndian.PutUint16(b[16:], uint16(n))
	b[18] = typ
	copy(b[direntHeader:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	var buf []byte
	for _, r := range [][]byte{record(".", dtDir), record("..", dtDir), record("kesl.service", dtReg),
		record("a.wants", dtDir), record("alias.service", dtLnk), record("pipe", dtFIFO), record("odd", dtUnknown), record("sock", dtSock),
		record("tty", dtChr), record("sda", dtBlk), record("weird", 99)} {
		buf = append(buf, r...)
	}
	type got struct {
		name  string
		typ   fs.FileMode
		known bool
	}
	var all []got
	if err := parseDirents(buf, func(name string, typ fs.FileMode, known bool) { all = append(all, got{name, typ, known}) }); err != nil {
		t.Fatal(err)
	}
	want := []got{{"kesl.service", 0, true}, {"a.wants", fs.ModeDir, true}, {"alias.service", fs.ModeSymlink, true},
		{"pipe", fs.ModeNamedPipe, true}, {"odd", 0, false}, {"sock", fs.ModeSocket, true},
		{"tty", fs.ModeDevice | fs.ModeCharDevice, true}, {"sda", fs.ModeDevice, true}, {"weird", 0, false}}
	if len(all) != len(want) {
		t.Fatalf("got %v, want %v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Errorf("record %d: %v, want %v", i, all[i], want[i])
		}
	}
}

// TestParseDirentsHostile: records whose length does not fit fail,
// without reading past the buffer or looping.
func TestParseDirentsHostile(t *testing.T) {
	good := record("kesl.service", dtReg)
	zero := append([]byte(nil), good...)
	binary.NativeEndian.PutUint16(zero[16:], 0)
	long := append([]byte(nil), good...)
	binary.NativeEndian.PutUint16(long[16:], 0xffff)
	short := append([]byte(nil), good...)
	binary.NativeEndian.PutUint16(short[16:], direntHeader-1)
	noNUL := record("x", dtReg)
	for i := direntHeader; i < len(noNUL); i++ {
		noNUL[i] = 'x'
	}
	for name, buf := range map[string][]byte{
		"zero length": zero, "past the end": long, "shorter than a header": short,
		"cut header": good[:10], "good then cut": append(append([]byte(nil), good...), good[:20]...),
	} {
		n := 0
		err := parseDirents(buf, func(string, fs.FileMode, bool) { n++ })
		if !errors.Is(err, errBadDirent) {
			t.Errorf("%s: %v, want errBadDirent", name, err)
		}
		if n > 1 {
			t.Errorf("%s: %d records", name, n)
		}
	}
	// A name filling its record with no NUL is the whole record.
	var names []string
	if err := parseDirents(noNUL, func(name string, _ fs.FileMode, _ bool) { names = append(names, name) }); err != nil || len(names) != 1 || len(names[0]) != len(noNUL)-direntHeader {
		t.Errorf("name without NUL: %q, %v", names, err)
	}
}

func FuzzParseDirents(f *testing.F) {
	f.Add(append(record("kesl.service", dtReg), record("..", dtDir)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, buf []byte) {
		total := 0
		_ = parseDirents(buf, func(name string, _ fs.FileMode, _ bool) {
			if name == "" || name == "." || name == ".." {
				t.Errorf("name %q", name)
			}
			total += len(name)
		})
		if total > len(buf) {
			t.Errorf("%d bytes of names from %d", total, len(buf))
		}
	})
}
