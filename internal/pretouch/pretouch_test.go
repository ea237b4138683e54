// The addresses of these tests' memory maps are 64-bit ones.

//go:build amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x

package pretouch

import (
	"errors"
	"os"
	"slices"
	"testing"
)

// testdata/maps-go-amd64.txt is /proc/self/maps as a static Go program
// (Go 1.26, linux/amd64, Debian 12) read it, its path renamed: the
// program's text, read-only and writable data, its bss, the heap arena
// (reserved, and 8 MiB of it mapped) and the runtime's bookkeeping.
func readFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/maps-go-amd64.txt")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMaps(t *testing.T) {
	maps, err := parseMaps(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 30 {
		t.Fatalf("got %d mappings, want 30", len(maps))
	}
	text := maps[0]
	if text.lo != 0x400000 || text.hi != 0x496000 || string(text.perms[:]) != "r-xp" || string(text.path) != "/usr/bin/avscout" {
		t.Errorf("text = %#x-%#x %s %q", text.lo, text.hi, text.perms, text.path)
	}
	if bss := maps[3]; len(bss.path) != 0 || string(bss.perms[:]) != "rw-p" {
		t.Errorf("bss = %s %q, want anonymous rw-p", bss.perms, bss.path)
	}
	if last := maps[len(maps)-1]; string(last.path) != "[vsyscall]" || last.lo != 0xffffffffff600000 {
		t.Errorf("last = %#x %q", last.lo, last.path)
	}
}

func TestParseMapsPaths(t *testing.T) {
	in := "00400000-00401000 r-xp 00000000 fe:00 12 /opt/avscout agent/bin/avscout (deleted)\n" +
		"00401000-00402000 r--p 0 0:0 0 0\n" + // a path that repeats a field
		"00402000-00403000 r--p 00000000 00:00 0\n" + // no path: anonymous

		"00401000-00402000 r--p 00001000 fe:00 12 /opt/avscout agent/bin/avscout (deleted)\n" +
		"00403000-00404000 rw-p 00000000 00:00 0" // cut by the buffer: no newline
	maps, err := parseMaps([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 4 {
		t.Fatalf("got %d mappings, want 4 (the cut line left out)", len(maps))
	}
	for i, want := range []string{"/opt/avscout agent/bin/avscout (deleted)", "0", "", "/opt/avscout agent/bin/avscout (deleted)"} {
		if got := string(maps[i].path); got != want {
			t.Errorf("line %d: path = %q, want %q", i+1, got, want)
		}
	}
}

func TestParseMapsMalformed(t *testing.T) {
	for _, line := range []string{
		"",
		"00400000-00401000 r-xp 00000000 fe:00", // too few fields
		"00400000 r-xp 00000000 fe:00 12 /x",    // no range
		"0040000g-00401000 r-xp 00000000 fe:00 12 /x",             // not hex
		"00401000-00400000 r-xp 00000000 fe:00 12 /x",             // ends before it starts
		"00400000-00401000 r-x 00000000 fe:00 12 /x",              // short permissions
		"00400000-11112222333344445555 r-xp 00000000 fe:00 12 /x", // wider than an address
		"-00401000 r-xp 00000000 fe:00 12 /x",
	} {
		maps, err := parseMaps([]byte("00400000-00401000 r-xp 00000000 fe:00 12 /x\n" + line + "\n"))
		if !errors.Is(err, errBadMaps) {
			t.Errorf("%q: err = %v, want errBadMaps", line, err)
		}
		if len(maps) != 1 {
			t.Errorf("%q: kept %d mappings, want the 1 before it", line, len(maps))
		}
	}
}

func TestPlan(t *testing.T) {
	maps, err := parseMaps(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	const (
		data     = 0x562100       // the program's initialised data
		heap     = 0x179fb4512345 // 1 MiB into the 8 MiB of the arena mapped
		heapPage = 0x179fb4512000
		page     = 4096
	)
	text := region{0x400000, 0x496000, populateRead}
	rodata := region{0x496000, 0x562000, populateRead}
	window := region{heapPage - heapBelow, heapPage - heapBelow + heapBytes, populateWrite}
	libc := []mapping{
		{0x7f0740400000, 0x7f0740428000, [4]byte{'r', '-', '-', 'p'}, []byte("/usr/lib/x86_64-linux-gnu/libc.so.6")},
		{0x7f0740428000, 0x7f07405bd000, [4]byte{'r', '-', 'x', 'p'}, []byte("/usr/lib/x86_64-linux-gnu/libc.so.6")},
	}
	tests := []struct {
		name        string
		maps        []mapping
		image, heap uintptr
		want        []region
	}{
		{"program and heap", maps, data, heap, []region{text, rodata, window}},
		{"image in the program's text", maps, 0x400010, heap, []region{text, rodata, window}},
		{"heap near the start of its mapping", maps, data, 0x179fb4401000, []region{text, rodata,
			{0x179fb4400000, 0x179fb4400000 + heapBytes, populateWrite}}},
		{"heap near the end of its mapping", maps, data, 0x179fb4bff000, []region{text, rodata,
			{0x179fb4bff000 - heapBelow, 0x179fb4c00000, populateWrite}}},
		{"other files untouched", append(slices.Clone(maps), libc...), data, heap, []region{text, rodata, window}},
		{"image in the bss, no file", maps, 0x56b100, heap, []region{window}},
		{"heap in reserved memory", maps, data, 0x179fb4c00010, []region{text, rodata}},
		{"heap in the program's data", maps, data, data, []region{text, rodata}},
		{"nothing known", maps, 0x10, 0x10, nil},
		{"no mappings", nil, data, heap, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan(tt.maps, tt.image, tt.heap, page); !slices.Equal(got, tt.want) {
				t.Errorf("plan =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func FuzzParseMaps(f *testing.F) {
	f.Add([]byte("00400000-00496000 r-xp 00000000 fe:00 9986075 /usr/bin/avscout\n"))
	f.Add([]byte("7fffed2d3000-7fffed2f4000 rw-p 00000000 00:00 0 [stack]\n-\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		maps, _ := parseMaps(b)
		for _, m := range maps {
			if m.hi < m.lo {
				t.Fatalf("mapping %#x-%#x ends before it starts", m.lo, m.hi)
			}
		}
	})
}
