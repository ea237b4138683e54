package regf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// benchVersion names the generated hive's content: change it when
// softwareReg changes, so a cached hive of old content is not reused.
const benchVersion = "v2"

// Sizes of the generated SOFTWARE hive.
const (
	benchUninstall64 = 3000 // entries under Uninstall
	benchUninstall32 = 1500 // under WOW6432Node's Uninstall
	benchVendors     = 1000 // top-level vendor keys
	benchClassGroups = 130  // Classes\GroupNNN, each of benchClassKeys keys
	benchClassKeys   = 250
)

// softwareReg is .reg text for a SOFTWARE hive shaped like a busy real
// one: thousands of uninstall entries in both views, many vendor keys and
// a large Classes tree as bulk. hivexregedit makes some 100 MB of hive
// from it.
func softwareReg() string {
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\n\n")
	uninstall := func(root string, n, view int) {
		for i := range n {
			fmt.Fprintf(&b, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\%s\\{%08X-%04X-4000-8000-%012X}]\n", root, i, view, i*7919)
			fmt.Fprintf(&b, "\"DisplayName\"=\"Application %d of publisher %d\"\n", i, i%97)
			fmt.Fprintf(&b, "\"DisplayVersion\"=\"%d.%d.%d.%d\"\n", i%20, i%7, i%100, i)
			fmt.Fprintf(&b, "\"Publisher\"=\"Publisher %d Corporation\"\n", i%97)
			fmt.Fprintf(&b, "\"InstallLocation\"=\"C:\\\\Program Files\\\\Publisher %d\\\\Application %d\\\\\"\n", i%97, i)
			fmt.Fprintf(&b, "\"UninstallString\"=\"MsiExec.exe /X{%08X-%04X-4000-8000-%012X}\"\n", i, view, i*7919)
			fmt.Fprintf(&b, "\"DisplayIcon\"=\"C:\\\\Program Files\\\\Publisher %d\\\\Application %d\\\\app.exe,0\"\n", i%97, i)
			fmt.Fprintf(&b, "\"InstallDate\"=\"2024%02d%02d\"\n", 1+i%12, 1+i%28)
			fmt.Fprintf(&b, "\"URLInfoAbout\"=\"https://publisher%d.example/app%d\"\n", i%97, i)
			fmt.Fprintf(&b, "\"EstimatedSize\"=dword:%08x\n", i*13)
			fmt.Fprintf(&b, "\"VersionMajor\"=dword:%08x\n", i%20)
			fmt.Fprintf(&b, "\"VersionMinor\"=dword:%08x\n", i%7)
			fmt.Fprintf(&b, "\"NoModify\"=dword:00000001\n")
			fmt.Fprintf(&b, "\"Language\"=dword:00000409\n\n")
		}
	}
	uninstall(`Microsoft\Windows\CurrentVersion\Uninstall`, benchUninstall64, 64)
	uninstall(`WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`, benchUninstall32, 32)
	for i := range benchVendors {
		fmt.Fprintf(&b, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor%04d\\Product %d\\%d.0]\n", i, i, i%9)
		fmt.Fprintf(&b, "\"InstallPath\"=\"C:\\\\Program Files\\\\Vendor%04d\\\\\"\n\"Version\"=\"%d.0.%d\"\n\n", i, i%9, i)
	}
	for g := range benchClassGroups {
		for k := range benchClassKeys {
			fmt.Fprintf(&b, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\Group%03d\\{%08X-0000-4000-8000-%012X}]\n", g, g*1000+k, k)
			fmt.Fprintf(&b, "@=\"Component class %d of group %d\"\n\"ThreadingModel\"=\"Both\"\n\"InprocServer32\"=\"C:\\\\Windows\\\\System32\\\\component%d.dll\"\n\n", k, g, g)
		}
	}
	return b.String()
}

// benchHive returns the generated SOFTWARE hive's path, writing it with
// hivexregedit the first time and keeping it in the user's cache folder
// (it takes a while to write).
func benchHive(tb testing.TB) string {
	tb.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "avscout-regf-bench")
	path := filepath.Join(dir, "SOFTWARE-"+benchVersion)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	tmp := path + ".tmp"
	if err := regftest.WriteHive(tmp, regftest.SoftwarePrefix, []byte(softwareReg())); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	fi, _ := os.Stat(path)
	tb.Logf("wrote %s (%d MB) with hivexregedit in %v", path, fi.Size()>>20, time.Since(start).Round(time.Second))
	return path
}

// vendorKeys are the top-level keys a vendor-keys source opens: some
// present, most not, as a catalog's keys are on one machine.
func vendorKeys() []string {
	var keys []string
	for i := range 150 {
		keys = append(keys, fmt.Sprintf("Vendor%04d", i*13))                   // 77 present (i*13 < 1000)
		keys = append(keys, fmt.Sprintf(`WOW6432Node\Vendor%04d`, i*13+10000)) // absent
	}
	return keys
}

// scanHive does what an offline scan of a SOFTWARE hive does: open it,
// read every value of every uninstall entry in both views, and open the
// vendor keys and list what is below them. It returns the entries read.
func scanHive(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	h, err := Open(f, fi.Size(), "SOFTWARE", Options{})
	if err != nil {
		return 0, err
	}
	root, err := h.Root()
	if err != nil {
		return 0, err
	}
	entries := 0
	for _, p := range []string{`Microsoft\Windows\CurrentVersion\Uninstall`, `WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`} {
		u, err := root.OpenSubKey(p)
		if err != nil {
			return entries, err
		}
		names, err := u.SubKeyNames()
		if err != nil {
			return entries, err
		}
		for _, n := range names {
			k, err := u.OpenSubKey(n)
			if err != nil {
				return entries, err
			}
			vals, err := k.ValueNames()
			if err != nil {
				return entries, err
			}
			for _, v := range vals {
				if _, err := k.Value(v); err != nil {
					return entries, err
				}
			}
			if _, err := k.ModTime(); err != nil {
				return entries, err
			}
			entries++
		}
	}
	for _, p := range vendorKeys() {
		k, err := root.OpenSubKey(p)
		if err != nil {
			if errorsIsNotExist(err) {
				continue
			}
			return entries, err
		}
		subs, err := k.SubKeyNames()
		if err != nil {
			return entries, err
		}
		for _, s := range subs {
			sk, err := k.OpenSubKey(s)
			if err != nil {
				return entries, err
			}
			if _, err := sk.SubKeyNames(); err != nil {
				return entries, err
			}
		}
		entries++
	}
	return entries, nil
}

func errorsIsNotExist(err error) bool {
	return err != nil && strings.Contains(err.Error(), winreg.ErrNotExist.Error())
}

// BenchmarkScanSoftwareHive opens a ~100 MB SOFTWARE hive and reads its
// uninstall entries and vendor keys; see also TestScanSoftwareHiveRSS.
func BenchmarkScanSoftwareHive(b *testing.B) {
	path := benchHive(b)
	want := benchUninstall64 + benchUninstall32 + 77
	b.ReportAllocs()
	for b.Loop() {
		n, err := scanHive(path)
		if err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("read %d entries, want %d", n, want)
		}
	}
}
