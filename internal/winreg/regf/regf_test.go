package regf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// typesHive is testdata/types.reg written by hivexregedit.
func typesHive(t testing.TB) hiveFile {
	t.Helper()
	b, err := os.ReadFile(regftest.HiveFile(t, regftest.SoftwarePrefix, "testdata/types.reg"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utf16z(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return append(b, 0, 0)
}

// TestValuesOfEachType reads one value of each type from a hive hivex
// wrote, and compares it with what the live registry would return: the
// type and the stored bytes.
func TestValuesOfEachType(t *testing.T) {
	h := openBytes(t, typesHive(t), Options{})
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	k, err := root.OpenSubKey(`VENDOR\product`) // case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		typ  winreg.Type
		data []byte
		str  string
	}{
		{"", winreg.SZ, utf16z("default text"), "default text"},
		{"DisplayName", winreg.SZ, utf16z("Product Name 1.2"), "Product Name 1.2"},
		{"displayversion", winreg.SZ, utf16z("1.2.3.4"), "1.2.3.4"},
		{"InstallLocation", winreg.EXPAND_SZ, utf16z(`C:\Program Files\P`), `C:\Program Files\P`},
		{"Paths", winreg.MULTI_SZ, []byte("a\x00\x00\x00b\x00c\x00\x00\x00\x00\x00"), "a; bc"},
		{"Count", winreg.DWORD, []byte{0x2a, 0, 0, 0}, "42"},
		{"Big endian", winreg.DWORD_BIG_ENDIAN, []byte{0, 0, 1, 2}, "258"},
		{"Size", winreg.QWORD, []byte{8, 7, 6, 5, 4, 3, 2, 1}, "72623859790382856"},
		{"Blob", winreg.BINARY, []byte{0xde, 0xad, 0xbe, 0xef, 1}, "de,ad,be,ef,01"},
		{"Nothing", winreg.NONE, []byte{}, ""},
		{"Odd", winreg.Type(0x4d2), []byte{1, 2, 3}, "01,02,03"},
		{"Empty", winreg.SZ, utf16z(""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := k.Value(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if v.Type != tt.typ || !bytes.Equal(v.Data, tt.data) {
				t.Errorf("got %v % x, want %v % x", v.Type, v.Data, tt.typ, tt.data)
			}
			if s := v.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
		})
	}
	names, err := k.ValueNames()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(tests) {
		t.Errorf("ValueNames() = %q, want %d names", names, len(tests))
	}
	if _, err := k.Value("missing"); !errors.Is(err, winreg.ErrNotExist) {
		t.Errorf("missing value: %v, want ErrNotExist", err)
	}
	if _, err := root.OpenSubKey(`Vendor\Missing`); !errors.Is(err, winreg.ErrNotExist) {
		t.Errorf("missing key: %v, want ErrNotExist", err)
	}
	if !strings.Contains(fmt.Sprint(root.OpenSubKey(`Vendor\Missing`)), `TEST\Vendor\Missing`) {
		t.Errorf("the error does not name the hive and key")
	}
	mt, err := k.ModTime()
	if err != nil || mt.Before(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) || mt.After(time.Now().Add(time.Hour)) {
		t.Errorf("ModTime() = %v, %v: want hivex's write time", mt, err)
	}
	if h.Dirty() || h.Replayed() {
		t.Errorf("Dirty() %v, Replayed() %v on a clean hive", h.Dirty(), h.Replayed())
	}
}

// TestNames reads ASCII, Latin-1 and UTF-16 key and value names.
func TestNames(t *testing.T) {
	h := openBytes(t, typesHive(t), Options{})
	root, _ := h.Root()
	vendor, err := root.OpenSubKey("Vendor")
	if err != nil {
		t.Fatal(err)
	}
	names, err := vendor.SubKeyNames()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if want := []string{"Café", "Product", "Продукт Ü"}; !slices.Equal(names, want) {
		t.Errorf("SubKeyNames() = %q, want %q", names, want)
	}
	for _, path := range []string{`Vendor\продукт ü`, `VENDOR\ПРОДУКТ Ü`, `Vendor\CAFÉ`} {
		if _, err := root.OpenSubKey(path); err != nil {
			t.Errorf("OpenSubKey(%q): %v", path, err)
		}
	}
	// hivex stored one name in each encoding: Latin-1 ("compressed") and
	// UTF-16.
	if f := keyAt(t, h, `Vendor\Café`).rec.flags; f&nkCompName == 0 {
		t.Errorf("Café is stored in UTF-16 (flags %#x): the Latin-1 case is not tested", f)
	}
	if f := keyAt(t, h, `Vendor\Продукт Ü`).rec.flags; f&nkCompName != 0 {
		t.Errorf("Продукт Ü is stored compressed (flags %#x)", f)
	}
	k, _ := root.OpenSubKey(`Vendor\Продукт Ü`)
	if s, err := winreg.String(k, "имя"); s != "Значение ü" || err != nil {
		t.Errorf(`value "Имя" = %q, %v`, s, err)
	}
}

// manyReg is .reg text with n subkeys under Many.
func manyReg(n int) string {
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\n\n")
	for i := range n {
		fmt.Fprintf(&b, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Many\\Key%04d]\n\"N\"=dword:%08x\n\n", i, i)
	}
	return b.String()
}

// TestSubkeyLists reads a key of many subkeys through each kind of list:
// the lh list hivex writes, and an index root (ri) over li, lf and lh
// leaves built from it.
func TestSubkeyLists(t *testing.T) {
	const n = 600
	base := readHive(t, regftest.SoftwarePrefix, manyReg(n))
	hives := map[string]hiveFile{"lh (hivex)": base}
	for _, sig := range []string{"li", "lf", "lh"} {
		hives["ri of "+sig] = restructure(t, slices.Clone(base), "Many", sig, 128)
	}
	for name, f := range hives {
		t.Run(name, func(t *testing.T) {
			h := openBytes(t, f, Options{})
			root, _ := h.Root()
			many, err := root.OpenSubKey("many")
			if err != nil {
				t.Fatal(err)
			}
			list, _, err := h.cell(many.(*key).rec.subList, 2, "list")
			wantSig := "ri"
			if name == "lh (hivex)" {
				wantSig = "lh"
			}
			if err != nil || string(list[:2]) != wantSig {
				t.Fatalf("the key's subkey list is %q (%v)", list, err)
			}
			names, err := many.SubKeyNames()
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != n || names[0] != "Key0000" || names[n-1] != fmt.Sprintf("Key%04d", n-1) {
				t.Fatalf("%d names %q … %q", len(names), names[0], names[len(names)-1])
			}
			for _, i := range []int{0, 127, 128, 333, n - 1} {
				k, err := many.OpenSubKey(fmt.Sprintf("KEY%04d", i))
				if err != nil {
					t.Fatal(err)
				}
				if v, err := winreg.Uint(k, "N"); v != uint64(i) || err != nil {
					t.Errorf("Key%04d N = %d, %v", i, v, err)
				}
			}
		})
	}
}

// TestBigData reads a value of more than 16344 bytes, stored both as
// hivex stores it (one cell) and in a db record of segments.
func TestBigData(t *testing.T) {
	want := make([]byte, 40000)
	for i := range want {
		want[i] = byte(i % 251)
	}
	var hex strings.Builder
	for i, c := range want {
		if i > 0 {
			hex.WriteByte(',')
		}
		fmt.Fprintf(&hex, "%02x", c)
	}
	base := readHive(t, regftest.SoftwarePrefix, "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Big]\n\"Large\"=hex:"+hex.String()+"\n")
	for name, f := range map[string]hiveFile{
		"one cell (hivex)": base,
		"db record":        toBigData(t, slices.Clone(base), "Big", "Large"),
	} {
		t.Run(name, func(t *testing.T) {
			h := openBytes(t, f, Options{})
			k := keyAt(t, h, "Big")
			_ = h.eachValue(&k.rec, func(v vkRec) (bool, error) {
				cell, _, err := h.cell(v.dataOff, 2, "data")
				if isDB := err == nil && string(cell[:2]) == "db"; isDB != (name == "db record") {
					t.Fatalf("data cell starts %q (%v)", cell, err)
				}
				return true, nil
			})
			v, err := k.Value("large")
			if err != nil {
				t.Fatal(err)
			}
			if v.Type != winreg.BINARY || !bytes.Equal(v.Data, want) {
				t.Errorf("got %v of %d bytes, want REG_BINARY of %d", v.Type, len(v.Data), len(want))
			}
			// Over the value size limit: ErrTooLarge, not the data.
			h = openBytes(t, f, Options{MaxValueSize: 30000})
			if _, err := keyAt(t, h, "Big").Value("Large"); !errors.Is(err, winreg.ErrTooLarge) {
				t.Errorf("over MaxValueSize: %v, want ErrTooLarge", err)
			}
		})
	}
}

// TestLimits: more subkeys or values than allowed are the first ones and
// an ErrTooLarge error, as the live registry's listing is; a path deeper
// than MaxDepth is an error.
func TestLimits(t *testing.T) {
	f := readHive(t, regftest.SoftwarePrefix, manyReg(50)+"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Many\\Key0001\\A\\B\\C]\n\"V1\"=\"1\"\n\"V2\"=\"2\"\n\"V3\"=\"3\"\n")
	h := openBytes(t, f, Options{MaxSubKeys: 10, MaxValues: 2, MaxDepth: 3})
	root, _ := h.Root()
	many, _ := root.OpenSubKey("Many")
	names, err := many.SubKeyNames()
	if len(names) != 10 || !errors.Is(err, winreg.ErrTooLarge) || errors.Is(err, winreg.ErrHiveUnavailable) {
		t.Errorf("SubKeyNames() = %d names, %v; want 10 and ErrTooLarge, the hive still readable", len(names), err)
	}
	if _, err := root.OpenSubKey(`Many\Key0001\A\B`); !errors.Is(err, winreg.ErrTooLarge) {
		t.Errorf("4 deep with MaxDepth 3: %v, want ErrTooLarge", err)
	}
	h = openBytes(t, f, Options{MaxValues: 2})
	c := keyAt(t, h, `Many\Key0001\A\B\C`)
	vals, err := c.ValueNames()
	if len(vals) != 2 || !errors.Is(err, winreg.ErrTooLarge) {
		t.Errorf("ValueNames() = %q, %v; want 2 and ErrTooLarge", vals, err)
	}
	h = openBytes(t, f, Options{MaxCells: 20})
	budget := 1000
	if _, _, err := walk(keyAt(t, h, ""), 0, &budget); !errors.Is(err, winreg.ErrTooLarge) || !errors.Is(err, winreg.ErrHiveUnavailable) {
		t.Errorf("walk with MaxCells 20: %v, want ErrTooLarge and ErrHiveUnavailable (the rest of the hive is not read)", err)
	}
}

func TestMarvin32(t *testing.T) {
	// Test vectors published with .NET's Marvin tests (dotnet/runtime,
	// MarvinTests.cs).
	const seed = 0x004FB61A001BDBCC
	for _, tt := range []struct {
		in   []byte
		want uint64
	}{
		{[]byte{}, 0x30ED35C100CD3C7D},
		{[]byte{0xaf}, 0x48E73FC77D75DDC1},
		{[]byte{0xe7, 0x0f}, 0xB5F6E1FC485DBFF8},
		{[]byte{0x37, 0xf4, 0x95}, 0xF0B07C789B8CF7E8},
		{[]byte{0x86, 0x42, 0xdc, 0x59}, 0x7008F2E87E9CF556},
		{[]byte{0x15, 0x3f, 0xb7, 0x98, 0x26}, 0xE6C08C6DA2AFA997},
		{[]byte{0x09, 0x32, 0xe6, 0x24, 0x6c, 0x47}, 0x6F04BF1A5EA24060},
		{[]byte{0xab, 0x42, 0x7e, 0xa8, 0xd1, 0x0f, 0xc7}, 0xE11847E4F0678C41},
	} {
		if got := marvin32(tt.in, seed); got != tt.want {
			t.Errorf("marvin32(% x) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
}

// TestConcurrentReads walks one hive from several goroutines at once, as
// scans of a Registry may (run with -race).
func TestConcurrentReads(t *testing.T) {
	f := restructure(t, readHive(t, regftest.SoftwarePrefix, manyReg(200)), "Many", "lf", 32)
	h := openBytes(t, f, Options{CachePages: 2})
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			budget := 10_000
			keys, values, err := walk(root, 0, &budget)
			if err == nil && (keys != 202 || values != 200) {
				err = fmt.Errorf("walked %d keys and %d values, want 202 and 200", keys, values)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestSameName(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"DisplayName", "displayname", true},
		{"DisplayName", "DisplayNam", false},
		{"Key0001", "KEY0001", true},
		{"Key0001", "Key0002", false},
		{"Café", "CAFÉ", true},
		{"Продукт", "пРОДУКТ", true},
		{"Продукт", "Продукц", false},
		{"a[", "A{", false}, // '[' and '{' are 0x20 apart but are not letters
		{"", "", true},
		{"ı", "I", true}, // dotless i upper-cases to I, changing length
	} {
		if got := sameName(tt.a, tt.b); got != tt.want {
			t.Errorf("sameName(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
