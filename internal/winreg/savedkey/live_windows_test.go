package savedkey

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/winregtest"
)

// TestLiveSavedCopyMatchesLive saves a key of this machine's registry
// (under Wine on Linux, see scripts/go_windows_amd64_exec) and reads the
// copy: every subkey, value and last-write time must be what reading the
// live key one call at a time gives, in both views.
func TestLiveSavedCopyMatchesLive(t *testing.T) {
	root := fmt.Sprintf(`SOFTWARE\avscout-save-test-%d`, os.Getpid())
	text := "Windows Registry Editor Version 5.00\r\n\r\n" + strings.ReplaceAll(uninstallRegBody(t), `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`, `HKEY_LOCAL_MACHINE\`+root)
	// Not t.TempDir: Go's RemoveAll fails under Wine 8.
	file := filepath.Join(os.TempDir(), fmt.Sprintf("avscout-save-%d.reg", os.Getpid()))
	b := []byte{0xff, 0xfe}
	for _, c := range utf16.Encode([]rune(text)) {
		b = append(b, byte(c), byte(c>>8))
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	for _, view := range []string{"/reg:64", "/reg:32"} {
		if out, err := exec.Command("reg", "import", file, view).CombinedOutput(); err != nil {
			t.Fatalf("reg import %s: %v %s", view, err, out)
		}
	}
	t.Cleanup(func() {
		for _, k := range []string{`HKLM\` + root, `HKLM\` + winreg.Redirect(winreg.LocalMachine, root, winreg.View32)} {
			_ = exec.Command("reg", "delete", k, "/f").Run()
		}
	})
	live := winreg.Live()
	for _, view := range []winreg.View{winreg.View64, winreg.View32} {
		saved, err := Open(live, winreg.LocalMachine, root, view)
		if err != nil {
			t.Fatalf("save %s (view %d): %v", root, view, err)
		}
		k, err := live.OpenKey(winreg.LocalMachine, root, view)
		if err != nil {
			t.Fatal(err)
		}
		winregtest.Same(t, winreg.Name(winreg.LocalMachine, root, view), saved, k, true)
		k.Close()
	}
	// A volatile key, which RegSaveKey leaves out of the copy, is still
	// read: listed and opened live.
	regCreate := windows.NewLazySystemDLL("advapi32.dll").NewProc("RegCreateKeyExW")
	parent, err := registry.OpenKey(registry.LOCAL_MACHINE, root, registry.ALL_ACCESS|registry.WOW64_64KEY)
	if err != nil {
		t.Fatal(err)
	}
	var vk registry.Key
	const regOptionVolatile = 1
	name, _ := windows.UTF16PtrFromString("Volatile")
	if r, _, _ := regCreate.Call(uintptr(parent), uintptr(unsafe.Pointer(name)), 0, 0, regOptionVolatile,
		uintptr(registry.ALL_ACCESS), 0, uintptr(unsafe.Pointer(&vk)), 0); r != 0 {
		t.Fatalf("create a volatile key: %v", windows.Errno(r))
	}
	if err := vk.SetStringValue("DisplayName", "Volatile AV"); err != nil {
		t.Fatal(err)
	}
	vk.Close()
	parent.Close()
	if saved, err := Open(live, winreg.LocalMachine, root, winreg.View64); err == nil {
		_, err := saved.OpenSubKey("Volatile")
		t.Logf("the saved copy holds the volatile key: %v", err == nil)
	}
	tree, err := OpenTree(live, winreg.LocalMachine, root, winreg.View64)
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := tree.SubKeyNames(); !slices.Contains(names, "Volatile") {
		t.Errorf("subkeys %q: no Volatile", names)
	} else if sub, err := tree.OpenSubKey("Volatile"); err != nil {
		t.Error(err)
	} else if s, _ := winreg.String(sub, "DisplayName"); s != "Volatile AV" {
		t.Errorf("Volatile DisplayName %q", s)
	}
	tree.Close()

	// No copy is left behind in the temporary folder.
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "avscout-reg-*")); len(left) > 0 {
		t.Errorf("saved copies left behind: %q", left)
	}
	// A key that is not there is an error, as for OpenKey.
	if _, err := Open(live, winreg.LocalMachine, root+`\no such key`, winreg.View64); err == nil {
		t.Error("a missing key was saved")
	}
}

// uninstallRegBody is uninstallReg without its header line.
func uninstallRegBody(t *testing.T) string {
	s := uninstallReg(t)
	_, body, _ := strings.Cut(s, "\n")
	return body
}
