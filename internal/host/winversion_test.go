package host

import (
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/winreg"
)

func TestWindowsIdentity(t *testing.T) {
	reg := winreg.NewFake()
	const text = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Pro"
"DisplayVersion"="23H2"
"CurrentBuild"="22631"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Cryptography]
"MachineGuid"="4c4c4544-0042-3510-8052-b4c04f4b4e32"
`
	if err := reg.Import(strings.NewReader(text), winreg.View64); err != nil {
		t.Fatal(err)
	}
	h := &Host{OS: Windows, Registry: reg, FS: nil}
	v, id := windowsIdentity(h.Registry)
	if v != "Windows 11 Pro 23H2 (build 22631)" || id != "4c4c4544-0042-3510-8052-b4c04f4b4e32" {
		t.Errorf("identity %q %q", v, id)
	}
	if v, id := windowsIdentity(nil); v != "" || id != "" {
		t.Error("no registry, yet an identity")
	}
	// Without a machine GUID, two images are told apart by their product
	// id and install time, and the same image always gives the same id.
	noGUID := func(productID, date string) string {
		r := winreg.NewFake()
		text := "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n" +
			`"ProductName"="Windows 10 Pro"` + "\n" + `"ProductId"="` + productID + `"` + "\n" + `"InstallDate"=dword:` + date + "\n"
		if err := r.Import(strings.NewReader(text), winreg.View64); err != nil {
			t.Fatal(err)
		}
		_, id := windowsIdentity(r)
		return id
	}
	a, b, a2 := noGUID("00330-80000-00000-AA123", "65a1b2c3"), noGUID("00330-80000-00000-AA456", "65a1b2c3"), noGUID("00330-80000-00000-AA123", "65a1b2c3")
	if a == "" || a == b || a != a2 {
		t.Errorf("ids without a machine GUID: %q, %q, again %q; want two different, stable ones", a, b, a2)
	}
	if got := windowsVersion("Microsoft Windows 7", "", "Service Pack 1", "7601"); got != "Microsoft Windows 7 Service Pack 1 (build 7601)" {
		t.Errorf("Wine's: %q", got)
	}
}
