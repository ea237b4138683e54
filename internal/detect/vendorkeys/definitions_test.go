package vendorkeys

import (
	"encoding/binary"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/winreg"
)

func TestDefinitionsDate(t *testing.T) {
	sz := func(s string) winreg.Value {
		var b []byte
		for _, r := range s + "\x00" {
			b = binary.LittleEndian.AppendUint16(b, uint16(r))
		}
		return winreg.Value{Type: winreg.SZ, Data: b}
	}
	dword := func(n uint32) winreg.Value {
		return winreg.Value{Type: winreg.DWORD, Data: binary.LittleEndian.AppendUint32(nil, n)}
	}
	qword := func(n uint64) winreg.Value {
		return winreg.Value{Type: winreg.QWORD, Data: binary.LittleEndian.AppendUint64(nil, n)}
	}
	binary8 := func(n uint64) winreg.Value {
		return winreg.Value{Type: winreg.BINARY, Data: binary.LittleEndian.AppendUint64(nil, n)}
	}
	const bigfixExample = 0x01d927677cdd9cff // ff9cdd7c6727d901 as the registry stores it
	for _, tc := range []struct {
		name   string
		v      winreg.Value
		format string
		want   string // "" when not a date
	}{
		{"kaspersky text", sz("28-09-2024 09-06-08"), "dd-MM-yyyy HH-mm-ss", "2024-09-28"},
		{"kaspersky text, spaces", sz(" 01-10-2024 23-59-59 "), "dd-MM-yyyy HH-mm-ss", "2024-10-01"},
		{"kaspersky text in another form", sz("yesterday"), "dd-MM-yyyy HH-mm-ss", ""},
		{"kaspersky text as a number", dword(1727512000), "dd-MM-yyyy HH-mm-ss", ""},
		{"unix dword", dword(1727512000), "unix", "2024-09-28"},
		{"unix never", dword(0xffffffff), "unix", ""},
		{"unix zero", dword(0), "unix", ""},
		{"unix too early", dword(86400), "unix", ""},
		{"unix qword far future", qword(1 << 62), "unix", ""},
		{"filetime binary", binary8(bigfixExample), "filetime", "2023-01-13"},
		{"filetime qword", qword(bigfixExample), "filetime", "2023-01-13"},
		{"filetime short binary", winreg.Value{Type: winreg.BINARY, Data: []byte{1, 2, 3}}, "filetime", ""},
		{"filetime long binary", winreg.Value{Type: winreg.BINARY, Data: make([]byte, 16)}, "filetime", ""},
		{"filetime zero", binary8(0), "filetime", ""},
		{"filetime max", binary8(^uint64(0)), "filetime", ""},
		{"filetime as text", sz("2023-01-13"), "filetime", ""},
		{"unknown format", dword(1727512000), "rfc3339", ""},
	} {
		got, ok := DefinitionsDate(tc.v, tc.format)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: DefinitionsDate = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

// Defender's signature date lies on the catalogued key itself.
func TestVendorKeysDefenderSignatureDate(t *testing.T) {
	h := regHost(t, "testdata/defender.reg")
	key := `HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates`
	src := NewVendorKeys([]string{key}, nil, []detect.DefinitionsValue{{Key: key, Value: "SignaturesLastUpdated", Format: "filetime"}})
	obs, err := collect(t, src, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 1 || obs[0].Definitions != "2026-11-30" {
		t.Fatalf("observations %+v; want the key with definitions 2026-11-30", obs)
	}
}
