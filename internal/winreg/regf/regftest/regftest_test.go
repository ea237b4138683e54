package regftest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHivexReadsMergedHive writes a hive through hivexregedit and reads it
// back with hivexregedit --export: the empty hive is one hivex accepts,
// and the merge wrote what the .reg text says.
func TestHivexReadsMergedHive(t *testing.T) {
	path := Hive(t, SoftwarePrefix, `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor\Product]
"DisplayName"="Product 1.0"
"Count"=dword:0000002a
`)
	out, err := exec.Command(Tool, "--export", "--prefix", SoftwarePrefix, path, `\`).CombinedOutput()
	if err != nil {
		t.Fatalf("%s --export: %v\n%s", Tool, err, out)
	}
	for _, want := range []string{`[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor\Product]`, `"Count"=dword:0000002a`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
}

func TestEmptyHiveChecksum(t *testing.T) {
	b := EmptyHive("ROOT")
	if got, want := Checksum(b[:508]), uint32(b[508])|uint32(b[509])<<8|uint32(b[510])<<16|uint32(b[511])<<24; got != want {
		t.Errorf("checksum %#x, stored %#x", got, want)
	}
}

// TestWineExportFixture merges a UTF-16LE, CRLF .reg file as Wine's
// regedit exports it (internal/winreg/testdata/wine-export.reg), whose
// keys' parents are not all named in the file.
func TestWineExportFixture(t *testing.T) {
	path := HiveFile(t, SoftwarePrefix, "../../testdata/wine-export.reg")
	out, err := exec.Command(Tool, "--export", "--prefix", SoftwarePrefix, path, `\Microsoft\Windows\CurrentVersion\Uninstall`).CombinedOutput()
	if err != nil {
		t.Fatalf("%s --export: %v\n%s", Tool, err, out)
	}
	if !strings.Contains(string(out), `{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`) {
		t.Errorf("export lacks the fixture's uninstall key:\n%.2000s", out)
	}
}
