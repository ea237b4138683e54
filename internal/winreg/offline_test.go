package winreg

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// offlineFixture builds hive roots from .reg text with a Fake: each hive
// is a key of the fake, as a hive file's root is a key of its own.
func offlineFixture(t *testing.T, text string) *Fake {
	t.Helper()
	f := NewFake()
	if err := f.Import(strings.NewReader("Windows Registry Editor Version 5.00\n\n"+text), View64); err != nil {
		t.Fatal(err)
	}
	return f
}

func hiveOf(t *testing.T, f *Fake, hive Hive, path string) *OfflineHive {
	t.Helper()
	k, err := f.OpenKey(hive, path, View64)
	if err != nil {
		t.Fatal(err)
	}
	return &OfflineHive{Path: "Windows/System32/config/" + path, Root: k}
}

const offlineReg = `
[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor]
"Bits"="64"

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Vendor]
"Bits"="32"

[HKEY_LOCAL_MACHINE\SYSTEM\Select]
"Current"=dword:00000002
"Default"=dword:00000001

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\Old]
"Type"=dword:00000010

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Services\New]
"Type"=dword:00000010

[HKEY_USERS\S-1-5-21-1-2-3-1001\Software\Vendor]
"Who"="alice"
`

func TestOfflineRegistry(t *testing.T) {
	f := offlineFixture(t, offlineReg)
	r := NewOffline(OfflineHives{
		Software: hiveOf(t, f, LocalMachine, "SOFTWARE"),
		System:   hiveOf(t, f, LocalMachine, "SYSTEM"),
		Users: []UserHive{{Name: "S-1-5-21-1-2-3-1001", OfflineHive: OfflineHive{
			Path: "Users/alice/NTUSER.DAT", Root: mustOpen(t, f, Users, "S-1-5-21-1-2-3-1001")}}},
	})
	if got := r.ControlSet(); got != "ControlSet002" {
		t.Errorf("control set %q, want ControlSet002 (Select\\Current)", got)
	}
	for _, tc := range []struct {
		hive        Hive
		path        string
		view        View
		value, want string
		wantName    string
	}{
		{LocalMachine, `SOFTWARE\Vendor`, View64, "Bits", "64", `HKLM\SOFTWARE\Vendor`},
		{LocalMachine, `SOFTWARE\Vendor`, View32, "Bits", "32", `HKLM\SOFTWARE\WOW6432Node\Vendor`},
		{LocalMachine, `software\WOW6432Node\vendor`, View64, "Bits", "32", `HKLM\software\WOW6432Node\vendor`},
		{LocalMachine, `SYSTEM\CurrentControlSet\Services\New`, View64, "Type", "16", `HKLM\SYSTEM\CurrentControlSet\Services\New`},
		{LocalMachine, `SYSTEM\ControlSet001\Services\Old`, View64, "Type", "16", `HKLM\SYSTEM\ControlSet001\Services\Old`},
		{Users, `s-1-5-21-1-2-3-1001\Software\Vendor`, View64, "Who", "alice", `HKU\s-1-5-21-1-2-3-1001\Software\Vendor`},
	} {
		k, err := r.OpenKey(tc.hive, tc.path, tc.view)
		if err != nil {
			t.Errorf("%s %s: %v", tc.hive, tc.path, err)
			continue
		}
		v, err := k.Value(tc.value)
		if err != nil || v.String() != tc.want {
			t.Errorf("%s %s value %s: %v %v, want %s", tc.hive, tc.path, tc.value, v, err, tc.want)
		}
		if got := k.(*offlineKey).name; got != tc.wantName {
			t.Errorf("%s %s named %q, want %q", tc.hive, tc.path, got, tc.wantName)
		}
		k.Close()
	}
	// The old control set's service is not in CurrentControlSet.
	if _, err := r.OpenKey(LocalMachine, `SYSTEM\CurrentControlSet\Services\Old`, View64); !errors.Is(err, ErrNotExist) {
		t.Errorf("Services\\Old of ControlSet001 seen in CurrentControlSet: %v", err)
	}
	// Opening SYSTEM, then CurrentControlSet below it, resolves too.
	sys, err := r.OpenKey(LocalMachine, "SYSTEM", View64)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sys.OpenSubKey(`CurrentControlSet\Services`)
	if err != nil {
		t.Fatal(err)
	}
	if names, err := svc.SubKeyNames(); err != nil || !slices.Equal(names, []string{"New"}) {
		t.Errorf("CurrentControlSet\\Services lists %v, %v", names, err)
	}
	// HKLM and HKU list their hives; HKLM\ in the 32-bit view then
	// SOFTWARE\Vendor is the 32-bit key, as on Windows.
	for hive, want := range map[Hive][]string{LocalMachine: {"SOFTWARE", "SYSTEM"}, Users: {"S-1-5-21-1-2-3-1001"}} {
		k, err := r.OpenKey(hive, "", View32)
		if err != nil {
			t.Fatal(err)
		}
		if names, err := k.SubKeyNames(); err != nil || !slices.Equal(names, want) {
			t.Errorf("%s lists %v, %v; want %v", hive, names, err, want)
		}
		if hive == LocalMachine {
			v, err := k.OpenSubKey(`SOFTWARE\Vendor`)
			if err != nil {
				t.Fatal(err)
			}
			if s, _ := String(v, "Bits"); s != "32" {
				t.Errorf("HKLM (32-bit view) then SOFTWARE\\Vendor: Bits %q", s)
			}
		}
	}
	for _, tc := range []struct {
		hive Hive
		path string
	}{{LocalMachine, `SOFTWARE\Nope`}, {LocalMachine, `SAM\SAM`}, {Users, `S-1-5-18\Software`}, {CurrentUser, `Software`}} {
		if _, err := r.OpenKey(tc.hive, tc.path, View64); !errors.Is(err, ErrNotExist) {
			t.Errorf("%s\\%s: %v, want ErrNotExist", tc.hive, tc.path, err)
		}
	}
	if err, warns := r.Check(HiveSoftware, HiveSystem, HiveUsers); err != nil || len(warns) != 0 {
		t.Errorf("Check: %v %v", err, warns)
	}
}

func mustOpen(t *testing.T, f *Fake, hive Hive, path string) Key {
	t.Helper()
	k, err := f.OpenKey(hive, path, View64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestOfflineControlSetFallbacks(t *testing.T) {
	for _, tc := range []struct{ name, reg, want string }{
		{"default when current is missing", `
[HKEY_LOCAL_MACHINE\SYSTEM\Select]
"Current"=dword:00000007
"Default"=dword:00000001
[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services]
`, "ControlSet001"},
		{"no Select, a plain CurrentControlSet", `
[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services]
`, "CurrentControlSet"},
		{"nothing at all", `
[HKEY_LOCAL_MACHINE\SYSTEM\Setup]
`, "ControlSet001"},
		{"Select of the wrong type", `
[HKEY_LOCAL_MACHINE\SYSTEM\Select]
"Current"="2"
[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Services]
[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services]
`, "ControlSet001"},
	} {
		f := offlineFixture(t, tc.reg)
		r := NewOffline(OfflineHives{System: hiveOf(t, f, LocalMachine, "SYSTEM")})
		if got := r.ControlSet(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOfflineMissingAndBrokenHives(t *testing.T) {
	f := offlineFixture(t, offlineReg)
	broken := errors.New("base block checksum mismatch")
	r := NewOffline(OfflineHives{
		System: &OfflineHive{Path: "Windows/System32/config/SYSTEM", Err: broken},
		Users: []UserHive{
			{Name: "bob", OfflineHive: OfflineHive{Path: "Users/bob/NTUSER.DAT", Err: broken}},
			{Name: "S-1-5-21-1-2-3-1001", OfflineHive: OfflineHive{Path: "Users/alice/NTUSER.DAT",
				Root: mustOpen(t, f, Users, "S-1-5-21-1-2-3-1001"), Warning: "dirty; no transaction logs to replay"}},
		},
	})
	for _, tc := range []struct {
		hive Hive
		path string
		msg  string
	}{
		{LocalMachine, `SOFTWARE\Microsoft`, "SOFTWARE not found"},
		{LocalMachine, `SYSTEM\CurrentControlSet\Services`, "checksum mismatch"},
		{Users, `bob\Software`, "Users/bob/NTUSER.DAT"},
	} {
		_, err := r.OpenKey(tc.hive, tc.path, View64)
		if !errors.Is(err, ErrHiveUnavailable) || errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s\\%s: %v, want ErrHiveUnavailable saying %q", tc.hive, tc.path, err, tc.msg)
		}
		if tc.msg != "SOFTWARE not found" && !errors.Is(err, broken) {
			t.Errorf("%s\\%s: %v does not keep the hive's error", tc.hive, tc.path, err)
		}
	}
	k, _ := r.OpenKey(Users, "", View64)
	if names, _ := k.SubKeyNames(); !slices.Equal(names, []string{"S-1-5-21-1-2-3-1001"}) {
		t.Errorf("HKU lists %v: a hive that could not be read must not be listed", names)
	}
	err, warns := r.Check(HiveSoftware)
	if !errors.Is(err, ErrHiveUnavailable) || len(warns) != 0 {
		t.Errorf("Check(SOFTWARE): %v %v", err, warns)
	}
	err, warns = r.Check(HiveSystem, HiveUsers)
	if err == nil || !strings.Contains(err.Error(), "Windows/System32/config/SYSTEM") || !strings.Contains(err.Error(), "HKU\\bob (Users/bob/NTUSER.DAT)") {
		t.Errorf("Check(SYSTEM, users): %v", err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "dirty") || !strings.Contains(warns[0], "Users/alice/NTUSER.DAT") {
		t.Errorf("warnings %q", warns)
	}
}
