package winreg

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// utf16File encodes text as regedit saves it: UTF-16LE with a BOM.
func utf16File(text string) []byte {
	b := []byte{0xff, 0xfe}
	for _, c := range utf16.Encode([]rune(text)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

func loadFake(t *testing.T, data []byte, view View) *Fake {
	t.Helper()
	f := NewFake()
	if err := f.Import(bytes.NewReader(data), view); err != nil {
		t.Fatal(err)
	}
	return f
}

func open(t *testing.T, r Registry, hive Hive, path string, view View) Key {
	t.Helper()
	k, err := r.OpenKey(hive, path, view)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

const kesUninstall = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`

// Every value type of the fixture, read back with its type, from the
// UTF-8 file, the same text as UTF-16LE, and Wine's own `reg export`.
func TestParseRegFileValues(t *testing.T) {
	utf8Text, err := os.ReadFile("testdata/kes.reg")
	if err != nil {
		t.Fatal(err)
	}
	wineExport, err := os.ReadFile("testdata/wine-export.reg")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(wineExport, []byte{0xff, 0xfe}) {
		t.Fatal("wine-export.reg is not the UTF-16LE file reg export writes")
	}
	for name, data := range map[string][]byte{
		"utf8": utf8Text, "utf16": utf16File(string(utf8Text)), "wine export": wineExport,
		"crlf": []byte(strings.ReplaceAll(string(utf8Text), "\n", "\r\n")),
		"bom":  append([]byte{0xef, 0xbb, 0xbf}, utf8Text...),
	} {
		t.Run(name, func(t *testing.T) {
			f := loadFake(t, data, View64)
			k := open(t, f, LocalMachine, kesUninstall, View64)
			for value, want := range map[string]string{
				"DisplayName":     "Kaspersky Endpoint Security for Windows",
				"InstallLocation": `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\`,
				"Comments":        `quote "inside" and a backslash \ here`,
				"ModifyPath":      "MsiExec.exe /I",
				"":                "default value",
			} {
				if got, err := String(k, value); err != nil || got != want {
					t.Errorf("%q = %q, %v; want %q", value, got, err, want)
				}
			}
			if v, _ := k.Value("ModifyPath"); v.Type != EXPAND_SZ {
				t.Errorf("ModifyPath type %s", v.Type)
			}
			if n, err := Uint(k, "EstimatedSize"); err != nil || n != 0x3a2c4 {
				t.Errorf("EstimatedSize = %d, %v", n, err)
			}
			if n, err := Uint(k, "Size"); err != nil || n != 0x1000 {
				t.Errorf("Size (qword) = %d, %v", n, err)
			}
			v, err := k.Value("Languages")
			if l, lerr := v.AsStrings(); err != nil || lerr != nil || strings.Join(l, "|") != "en|ru" || v.Type != MULTI_SZ {
				t.Errorf("Languages = %q %s, %v %v", l, v.Type, err, lerr)
			}
			if v, err := k.Value("Blob"); err != nil || v.Type != BINARY || v.String() != "de,ad,be,ef" {
				t.Errorf("Blob = %v, %v", v, err)
			}
			if _, err := String(k, "Blob"); !errors.Is(err, ErrType) {
				t.Errorf("Blob as string: %v, want ErrType", err)
			}
			if _, err := k.Value("Missing"); !errors.Is(err, ErrNotExist) {
				t.Errorf("missing value: %v", err)
			}
		})
	}
}

func TestParseRegFileStructure(t *testing.T) {
	data, err := os.ReadFile("testdata/kes.reg")
	if err != nil {
		t.Fatal(err)
	}
	f := loadFake(t, data, View64)
	// HKCU lands under Wine's user SID in HKU.
	k := open(t, f, Users, WineUserSID+`\Software\Microsoft\Windows\CurrentVersion\Uninstall\KasperskyVPN`, View64)
	if s, _ := String(k, "DisplayName"); s != "Kaspersky VPN Secure Connection" {
		t.Errorf("per-user entry: %q", s)
	}
	// Case-insensitive names, original case kept.
	k = open(t, f, LocalMachine, `software\wow6432node\kasperskylab\PROTECTED`, View64)
	if names, _ := k.SubKeyNames(); strings.Join(names, ",") != "KES" {
		t.Errorf("subkeys %v", names)
	}
	// [-KEY] deleted the key, and the values after it were ignored.
	if _, err := f.OpenKey(LocalMachine, `SOFTWARE\Removed`, View64); !errors.Is(err, ErrNotExist) {
		t.Errorf("deleted key: %v", err)
	}
	// The 32-bit view sees WOW6432Node.
	k = open(t, f, LocalMachine, `SOFTWARE\KasperskyLab\protected\KES\environment`, View32)
	if s, _ := String(k, "ProductVersion"); s != "12.1.0.506" {
		t.Errorf("32-bit view: %q", s)
	}
}

// A fixture written without WOW6432Node and imported /reg:32 lands there.
func TestImport32BitView(t *testing.T) {
	f := loadFake(t, []byte("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\App]\n\"V\"=\"1\"\n"), View32)
	if _, err := f.OpenKey(LocalMachine, `SOFTWARE\Vendor`, View64); !errors.Is(err, ErrNotExist) {
		t.Errorf("64-bit view sees a 32-bit import: %v", err)
	}
	open(t, f, LocalMachine, `SOFTWARE\WOW6432Node\Vendor\App`, View64)
	open(t, f, LocalMachine, `SOFTWARE\Vendor\App`, View32)
	if got := Name(LocalMachine, `SOFTWARE\Vendor\App`, View32); got != `HKLM\SOFTWARE\WOW6432Node\Vendor\App` {
		t.Errorf("Name = %s", got)
	}
	if got := Name(LocalMachine, `SYSTEM\CurrentControlSet`, View32); got != `HKLM\SYSTEM\CurrentControlSet` {
		t.Errorf("SYSTEM is not redirected: %s", got)
	}
}

func TestFakeOpenSubKey(t *testing.T) {
	f := loadFake(t, []byte("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\App\\Sub]\n\"V\"=\"1\"\n"), View32)
	k := open(t, f, LocalMachine, `SOFTWARE\Vendor`, View32)
	sk, err := k.OpenSubKey(`app\SUB`)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := String(sk, "V"); v != "1" || err != nil {
		t.Errorf("V = %q, %v", v, err)
	}
	if _, err := k.OpenSubKey("Nothing"); !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), `HKLM\SOFTWARE\WOW6432Node\Vendor\Nothing`) {
		t.Errorf("missing subkey: %v", err)
	}
}

func TestRegedit4(t *testing.T) {
	data, err := os.ReadFile("testdata/regedit4.reg")
	if err != nil {
		t.Fatal(err)
	}
	f := loadFake(t, data, View64)
	k := open(t, f, LocalMachine, `SOFTWARE\Legacy`, View64)
	if s, _ := String(k, "Name"); s != "Café" {
		t.Errorf("ANSI string: %q", s)
	}
	if s, _ := String(k, "Path"); s != `C:\` {
		t.Errorf("REGEDIT4 hex(2) is ANSI: %q", s)
	}
	if n, _ := Uint(k, "Count"); n != 16 {
		t.Errorf("Count = %d", n)
	}
}

func TestParseRegFileErrors(t *testing.T) {
	const h = "Windows Registry Editor Version 5.00\n\n"
	for _, tt := range []struct {
		name, text, want string
	}{
		{"empty", "", "line 1: empty file"},
		{"no header", "[HKEY_LOCAL_MACHINE\\X]\n", `line 1: not a .reg file`},
		{"value before key", h + "\"a\"=\"b\"\n", "line 3: value outside of a [key]"},
		{"unknown hive", h + "[HKEY_NOWHERE\\X]\n", "line 3: registry key \"HKEY_NOWHERE\\\\X\": unknown hive"},
		{"unclosed key", h + "[HKEY_LOCAL_MACHINE\\X\n", "line 3: key line"},
		{"empty key name", h + "[HKEY_LOCAL_MACHINE\\A\\\\B]\n", "line 3: registry key"},
		{"long key name", h + "[HKEY_LOCAL_MACHINE\\" + strings.Repeat("k", 256) + "]\n", "longer than 255"},
		{"unclosed string", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=\"b\n", "line 4: value \"a\": string has no closing quote"},
		{"no equals", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\" \"b\"\n", "line 4: value \"a\": want ="},
		{"bad dword", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=dword:1234567890\n", "line 4: value \"a\": bad dword"},
		{"dword not hex", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=dword:xyz\n", "bad dword"},
		{"bad hex", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=hex:01,zz\n", "line 4: bad hex byte \"zz\""},
		{"bad hex on continuation", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=hex:01,\\\n  02,0g\n", "line 5: bad hex byte"},
		{"continuation at EOF", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=hex:01,\\", "line 4: hex data continues past the end"},
		{"bad hex type", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=hex(zz):01\n", "bad type in hex(zz)"},
		{"unknown data", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=qword:1\n", "line 4: value \"a\": unknown data"},
		{"garbage", h + "[HKEY_LOCAL_MACHINE\\X]\nhello\n", "line 4: unexpected text \"hello\""},
		{"text after string", h + "[HKEY_LOCAL_MACHINE\\X]\n\"a\"=\"b\" c\n", "text \" c\" after the string"},
		{"odd utf16", "\xff\xfeW\x00x", "odd length"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRegFile(strings.NewReader(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := ParseRegFile(bytes.NewReader(make([]byte, MaxRegFileSize+1))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
}

func TestParseRegFileLenient(t *testing.T) {
	text := "\n  REGEDIT4\n[HKEY_LOCAL_MACHINE\\X] ; comment\n# hash comment\n  \"a\" = \"b\"  ; trailing\n" +
		"\"bin\"=hex:01,\\\n; a comment inside the data\n  02\n\"z\"=hex(0):\n\"gone\"=\"x\"\n\"gone\"=-\n\"esc\"=\"a\\qb\"\n" +
		"[HKEY_USERS\\.DEFAULT\\Y]\n"
	f := loadFake(t, []byte(text), View64)
	k := open(t, f, LocalMachine, "X", View64)
	if s, _ := String(k, "a"); s != "b" {
		t.Errorf("a = %q", s)
	}
	if v, _ := k.Value("bin"); !bytes.Equal(v.Data, []byte{1, 2}) {
		t.Errorf("bin = %v", v.Data)
	}
	if v, err := k.Value("z"); err != nil || v.Type != NONE || len(v.Data) != 0 {
		t.Errorf("REG_NONE: %v %v", v, err)
	}
	if _, err := k.Value("gone"); !errors.Is(err, ErrNotExist) {
		t.Errorf("deleted value: %v", err)
	}
	if s, _ := String(k, "esc"); s != `a\qb` {
		t.Errorf("unknown escape: %q", s)
	}
	open(t, f, Users, `.DEFAULT\Y`, View64)
}

func TestFakeBounds(t *testing.T) {
	f := NewFake()
	f.Set(LocalMachine, `SOFTWARE\Big`, View64, "Huge", Value{Type: SZ, Data: make([]byte, MaxValueSize+2)})
	f.Set(LocalMachine, `SOFTWARE\Big`, View64, "Short", Value{Type: DWORD, Data: []byte{1}})
	k := open(t, f, LocalMachine, `SOFTWARE\Big`, View64)
	if _, err := k.Value("Huge"); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), `HKLM\SOFTWARE\Big value "Huge"`) {
		t.Errorf("huge value: %v", err)
	}
	if _, err := Uint(k, "Short"); !errors.Is(err, ErrType) {
		t.Errorf("short dword: %v", err)
	}
	when := time.Date(2024, 9, 19, 0, 0, 0, 0, time.UTC)
	f.SetModTime(LocalMachine, `SOFTWARE\Big`, View64, when)
	if got, _ := k.ModTime(); !got.Equal(when) {
		t.Errorf("mod time %v", got)
	}
	if _, err := f.OpenKey(Users, `S-1-5-18\Nothing`, View64); !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), `HKU\S-1-5-18\Nothing`) {
		t.Errorf("missing key: %v", err)
	}
	if v := (Value{Type: BINARY, Data: make([]byte, 100)}); !strings.HasSuffix(v.String(), "… (100 bytes)") {
		t.Errorf("long binary shown as %q", v.String())
	}
}

func TestParseKey(t *testing.T) {
	for in, want := range map[string]string{
		`HKLM\SOFTWARE\X`:                `HKLM SOFTWARE\X`,
		`HKEY_LOCAL_MACHINE\SOFTWARE\X\`: `HKLM SOFTWARE\X`,
		`hku\S-1-5-18`:                   `HKU S-1-5-18`,
		`HKEY_CURRENT_USER\Software`:     `HKCU Software`,
		`HKLM`:                           `HKLM `,
	} {
		h, p, err := ParseKey(in)
		if got := h.String() + " " + p; err != nil || got != want {
			t.Errorf("ParseKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, _, err := ParseKey(`HKCR\x`); err == nil {
		t.Error("HKCR accepted")
	}
}
