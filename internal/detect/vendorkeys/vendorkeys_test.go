package vendorkeys

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/detecttest"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/winreg"
)

// fixtureHost is a live-looking Windows host whose registry is the fake
// loaded from testdata/host.reg, and whose system drive holds the KES
// folder only.
func fixtureHost(t *testing.T) (*host.Host, *winreg.Fake) {
	t.Helper()
	fsys := fstest.MapFS{
		"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe": {},
		"Windows/System32/drivers/klif.sys":                    {},
	}
	return detecttest.RegistryHost(t, "testdata/host.reg", fsys, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
}

// regHost is a live-looking Windows host with an empty system drive and
// the registry of the .reg file.
func regHost(t *testing.T, file string) *host.Host {
	t.Helper()
	h, _ := detecttest.RegistryHost(t, file, fstest.MapFS{}, time.Time{})
	return h
}

func collect(t *testing.T, src detect.Source, h *host.Host) ([]detect.Observation, error) {
	t.Helper()
	return detecttest.Collect(t, src, h)
}

func TestVendorKeys(t *testing.T) {
	h, _ := fixtureHost(t)
	src := NewVendorKeys(
		[]string{
			`HKLM\SOFTWARE\KasperskyLab`,                                 // absent
			`HKLM\SOFTWARE\WOW6432Node\KasperskyLab`,                     // present
			`HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\KasperskyLab`,       // the same, written another way
			`HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES*`,      // a glob
			`HKLM\SOFTWARE\WOW6432Node\kasperskylab\PROTECTED\AVP*\Data`, // glob in the middle, other case
		},
		[]string{`HKLM\SOFTWARE\KasperskyLab\protected\*\environment`, `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\*\environment`},
		nil,
	)
	obs, err := collect(t, src, h)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	apps := map[string]detect.Observation{}
	for _, o := range obs {
		switch o.Kind {
		case detect.KindKey:
			keys = append(keys, o.Path)
			if o.Status != detect.Present {
				t.Errorf("key %s status %s", o.Path, o.Status)
			}
		case detect.KindApp:
			apps[o.Name] = o
		}
	}
	wantKeys := []string{
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab`,
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES`,
		`HKLM\SOFTWARE\WOW6432Node\kasperskylab\PROTECTED\AVP21.3\Data`, // literal parts as written
	}
	if strings.Join(keys, "\n") != strings.Join(wantKeys, "\n") {
		t.Errorf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(wantKeys, "\n"))
	}
	kes := apps["KES"]
	want := detect.Observation{
		Kind: detect.KindApp, Status: detect.Present, Name: "KES", // a description, not an install record,
		Display:     "Kaspersky Endpoint Security for Windows",
		Version:     "12.1.0.506",
		Path:        `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\`,
		Location:    `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES\environment`,
		Detail:      `Kaspersky Endpoint Security for Windows 12.1.0.506 in C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\; bases 2024-09-28`,
		Definitions: "2024-09-28",
	}
	if kes != want {
		t.Errorf("KES product key\n got %+v\nwant %+v", kes, want)
	}
	kts := apps["AVP21.3"]
	if kts.Status != detect.Present || kts.Version != "21.3.10.391" || !strings.Contains(kts.Detail, "(folder missing); bases never updated") {
		t.Errorf("product whose folder is gone: %+v", kts)
	}
	if _, ok := apps["Empty"]; ok || len(apps) != 2 {
		t.Errorf("apps %v", apps)
	}
}

func TestExpandErrors(t *testing.T) {
	reg := winreg.NewFake()
	for _, bad := range []string{`HKCR\X`, `HKCU\Software\X`, `HKLM\SOFTWARE\[`} {
		if _, err := Expand(context.Background(), reg, bad); err == nil {
			t.Errorf("Expand(%q) accepted", bad)
		}
	}
	// Many matches are bounded.
	for i := range maxMatches + 10 {
		reg.Set(winreg.LocalMachine, `SOFTWARE\V\k`+strings.Repeat("x", i%50)+string(rune('a'+i%26))+time.Duration(i).String(), winreg.View64, "v", winreg.Value{Type: winreg.SZ})
	}
	found, err := Expand(context.Background(), reg, `HKLM\SOFTWARE\V\*`)
	if err != nil || len(found) != maxMatches {
		t.Errorf("%d found, %v; want the bound %d", len(found), err, maxMatches)
	}
}

// deniedRegistry refuses to open one key, as a product's self-defence may.
type deniedRegistry struct {
	winreg.Registry
	path string
}

func (d deniedRegistry) OpenKey(h winreg.Hive, p string, v winreg.View) (winreg.Key, error) {
	if strings.EqualFold(p, d.path) {
		return nil, errors.New("open HKLM\\" + p + ": Access is denied.")
	}
	return d.Registry.OpenKey(h, p, v)
}

// A key that exists but may not be read is still evidence that it exists.
func TestVendorKeysDenied(t *testing.T) {
	h, reg := fixtureHost(t)
	h.Registry = deniedRegistry{reg, `SOFTWARE\WOW6432Node\KasperskyLab`}
	obs, err := collect(t, NewVendorKeys([]string{`HKLM\SOFTWARE\WOW6432Node\KasperskyLab`}, nil, nil), h)
	if err != nil || len(obs) != 1 || !strings.Contains(obs[0].Detail, "exists, unreadable: ") || obs[0].Status != detect.Present {
		t.Errorf("denied key: %+v, %v", obs, err)
	}
}

// A Security Center component's key shows the bases date of its
// protection statistics (Network Agent's, product 1103).
func TestVendorKeysStatisticsBasesDate(t *testing.T) {
	h := regHost(t, "testdata/netagent.reg")
	src := NewVendorKeys([]string{
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103`,
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1093`,
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab`,
	}, nil, []detect.DefinitionsValue{{
		Key:    `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\*\*\Statistics\AVState`,
		Value:  "Protection_BasesDate",
		Format: "dd-MM-yyyy HH-mm-ss",
	}})
	obs, err := collect(t, src, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 3 {
		t.Fatalf("%d observations, want 3: %+v", len(obs), obs)
	}
	if want := `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103 (1 subkey, 0 values); bases 2024-09-28`; obs[0].Detail != want {
		t.Errorf("Network Agent key detail %q, want %q", obs[0].Detail, want)
	}
	if obs[0].Definitions != "2024-09-28" || obs[1].Definitions != "" || obs[2].Definitions != "" {
		t.Errorf("definitions dates %q, %q, %q; want 2024-09-28 on the Network Agent key alone",
			obs[0].Definitions, obs[1].Definitions, obs[2].Definitions)
	}
	if strings.Contains(obs[1].Detail, "bases") {
		t.Errorf("a date in an unknown form is shown: %q", obs[1].Detail)
	}
	// The date belongs to the nearest catalogued key, not to the root.
	if strings.Contains(obs[2].Detail, "bases") {
		t.Errorf("the vendor's root key shows a component's date: %q", obs[2].Detail)
	}
}

// Keys a product's self-defence denies are warnings: the key is still
// reported, and the source saw everything else.
func TestDeniedKeysAreWarnings(t *testing.T) {
	h, reg := fixtureHost(t)
	h.Registry = deniedRegistry{reg, `SOFTWARE\KasperskyLab`}
	_, err := collect(t, NewVendorKeys([]string{`HKLM\SOFTWARE\KasperskyLab\*`}, []string{`HKLM\SOFTWARE\KasperskyLab\protected\*\environment`}, nil), h)
	if err == nil || !detect.IsWarning(err) || !strings.Contains(err.Error(), "Access is denied") {
		t.Errorf("vendor keys under a denied key: %v; want a warning naming the denial", err)
	}
}

func TestVendorKeysUnavailable(t *testing.T) {
	_, err := collect(t, NewVendorKeys(nil, nil, nil), &host.Host{OS: host.Windows})
	if !errors.Is(err, detect.ErrUnavailable) {
		t.Errorf("no registry: %v", err)
	}
}
