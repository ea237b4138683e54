package services

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/winpath"
	"github.com/avscout/avscout/internal/winreg"
)

// fakeSCM answers like the service control manager.
type fakeSCM struct {
	list    []host.Service
	err     error
	configs map[string]host.Service
}

func (f fakeSCM) Services(context.Context) ([]host.Service, error) { return f.list, f.err }

func (f fakeSCM) Config(_ context.Context, name string) (host.Service, error) {
	if s, ok := f.configs[name]; ok {
		return s, nil
	}
	return host.Service{}, errors.New("service " + name + ": query config: access denied")
}

func loadRegistry(t *testing.T) *winreg.Fake {
	t.Helper()
	f, err := os.Open("testdata/services.reg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reg := winreg.NewFake()
	if err := reg.Import(f, winreg.View64); err != nil {
		t.Fatal(err)
	}
	return reg
}

var systemDrive = fstest.MapFS{
	"Windows/System32/drivers/klif.sys":                    {},
	"Windows/System32/drivers/klflt.sys":                   {},
	"Windows/System32/svchost.exe":                         {},
	"Program Files/Only/only.exe":                          {},
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe": {},
}

func collect(t *testing.T, h *host.Host) (map[string]detect.Observation, error) {
	t.Helper()
	got := map[string]detect.Observation{}
	err := New().Collect(context.Background(), h, func(o detect.Observation) {
		if _, dup := got[o.Name]; dup {
			t.Errorf("%s reported twice", o.Name)
		}
		got[o.Name] = o
	})
	return got, err
}

func TestServices(t *testing.T) {
	scm := fakeSCM{list: []host.Service{
		{Name: "AVP", DisplayName: "Kaspersky Endpoint Security Service", ImagePath: `"C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe" -r`,
			Type: host.TypeService, RawType: 0x10, StartType: host.StartAuto, State: host.StateRunning},
		{Name: "Winmgmt", DisplayName: "Windows Management Instrumentation", Type: host.TypeService, RawType: 0x20,
			StartType: host.StartManual, State: host.StateStopped,
			ImagePath: `C:\Windows\system32\svchost.exe -k netsvcs`},
		// Known only to the SCM: its configuration is asked for.
		{Name: "OnlySCM", Type: host.TypeService, RawType: 0x10, State: host.StateStopped},
	}, configs: map[string]host.Service{
		"OnlySCM": {Name: "OnlySCM", ImagePath: `C:\Program Files\Only\only.exe`, Type: host.TypeService, RawType: 0x10, StartType: host.StartManual},
	}}
	h := &host.Host{OS: host.Windows, FS: systemDrive, Live: true, Registry: loadRegistry(t), Services: scm}
	got, err := collect(t, h)
	if err == nil || !strings.Contains(err.Error(), `Services\Broken`) {
		t.Errorf("error %v: want the broken key named", err)
	}
	if !detect.IsWarning(err) {
		t.Errorf("one broken service key failed the source: %v; want a warning", err)
	}

	klif := got["klif"]
	want := detect.Observation{
		Kind: detect.KindDriver, Status: detect.Installed, Name: "klif", Display: "Kaspersky Lab KLIF",
		Path:     `C:\Windows\system32\DRIVERS\klif.sys`,
		Altitude: "320400,320401",
		Location: `HKLM\SYSTEM\CurrentControlSet\Services\klif`,
		Detail:   `driver klif "Kaspersky Lab KLIF" C:\Windows\system32\DRIVERS\klif.sys (start boot, altitude 320400, 320401)`,
	}
	if klif != want {
		t.Errorf("klif\n got %+v\nwant %+v", klif, want)
	}
	if o := got["klhk"]; o.Kind != detect.KindDriver || o.Status != detect.Present || !strings.Contains(o.Detail, "image missing") {
		t.Errorf("driver whose file is gone: %+v", o)
	}
	if o := got["klflt"]; o.Path != `C:\Windows\System32\drivers\klflt.sys` || o.Status != detect.Installed {
		t.Errorf("driver without ImagePath: %+v", o)
	}
	avp := got["AVP"]
	if avp.Kind != detect.KindService || avp.Status != detect.Running || avp.Display != "Kaspersky Endpoint Security Service" ||
		avp.Path != `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe` || avp.Location != `HKLM\SYSTEM\CurrentControlSet\Services\AVP` {
		t.Errorf("AVP: %+v", avp)
	}
	if !strings.Contains(avp.Detail, "(start auto, running)") {
		t.Errorf("AVP detail %q", avp.Detail)
	}
	if o := got["klnagent"]; o.Status != detect.Present || !strings.Contains(o.Detail, "start disabled") {
		t.Errorf("disabled service: %+v", o)
	}
	if o := got["Winmgmt"]; o.Display != "Windows Management Instrumentation" || o.Path != `C:\Windows\system32\svchost.exe` || o.Status != detect.Installed {
		t.Errorf("SCM display name and path win: %+v", o)
	}
	if o := got["OnlySCM"]; o.Location != "service control manager" || o.Status != detect.Installed {
		t.Errorf("SCM-only service: %+v", o)
	}
	if _, ok := got["EventLog"]; ok {
		t.Error("a key without Type or ImagePath was taken for a service")
	}
	if o := got["Broken"]; o.Path != `C:\Program Files\Broken\broken.exe` || o.Status != detect.Present {
		t.Errorf("broken values, still reported: %+v", o)
	}
}

// Without an SCM (or when it fails), the registry alone still answers; the
// state of no service is known, so none is Running.
func TestServicesRegistryOnly(t *testing.T) {
	h := &host.Host{OS: host.Windows, FS: systemDrive, Registry: loadRegistry(t), Services: fakeSCM{err: errors.New("access denied")}}
	got, err := collect(t, h)
	if err == nil || !strings.Contains(err.Error(), "service control manager: access denied") {
		t.Errorf("error %v", err)
	}
	if detect.IsWarning(err) {
		t.Errorf("a refused service list is a warning: %v; want the source's failure", err)
	}
	if o := got["AVP"]; o.Status != detect.Installed || o.Display != "" {
		t.Errorf("AVP from the registry only: %+v", o)
	}
	if len(got) != 7 {
		t.Errorf("%d entries, want 7", len(got))
	}
}

func TestServicesSCMOnlyAndUnavailable(t *testing.T) {
	h := &host.Host{OS: host.Windows, Services: fakeSCM{
		list:    []host.Service{{Name: "klif", Type: host.TypeDriver, State: host.StateRunning}, {Name: "denied", State: host.StateStopped}},
		configs: map[string]host.Service{"klif": {ImagePath: `system32\drivers\klif.sys`, Type: host.TypeDriver, RawType: 2, StartType: host.StartBoot}},
	}}
	got, err := collect(t, h)
	if got["klif"].Status != detect.Running || got["klif"].Path != `C:\Windows\system32\drivers\klif.sys` || got["klif"].Kind != detect.KindDriver {
		t.Errorf("SCM only: %+v", got)
	}
	if err == nil || !strings.Contains(err.Error(), "service denied: query config: access denied") || got["denied"].Name != "denied" {
		t.Errorf("a service whose config is denied is still reported, and the error too: %v %+v", err, got["denied"])
	}
	if !detect.IsWarning(err) {
		t.Errorf("one denied service config failed the source: %v; want a warning", err)
	}
	if _, err := collect(t, &host.Host{OS: host.Windows}); !errors.Is(err, detect.ErrUnavailable) {
		t.Errorf("neither: %v", err)
	}
}

func TestImagePath(t *testing.T) {
	env := winpath.Env{SystemRoot: `C:\windows`}
	for _, tt := range []struct {
		s    host.Service
		want string
	}{
		{host.Service{ImagePath: `\SystemRoot\System32\drivers\x.sys`, Type: host.TypeDriver}, `C:\windows\System32\drivers\x.sys`},
		{host.Service{Name: "y", Type: host.TypeDriver}, `C:\windows\System32\drivers\y.sys`},
		{host.Service{Name: "z", Type: host.TypeService}, ``},
		{host.Service{ImagePath: `"C:\Program Files\Hearthward\avp.exe" -r`}, `C:\Program Files\Hearthward\avp.exe`},
		{host.Service{ImagePath: `C:\Program Files\Hearthward\avp.exe -r`}, `C:\Program Files\Hearthward\avp.exe`},
	} {
		if got := ImagePath(tt.s, env); got != tt.want {
			t.Errorf("ImagePath(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// TestObserveAltitude: a minifilter's altitudes reach Observation.Altitude
// comma-separated (the matcher compares them with the vendor's allocated
// ones); other drivers and services carry none.
func TestObserveAltitude(t *testing.T) {
	for _, tt := range []struct {
		name string
		e    Entry
		want string
	}{
		{"one instance", Entry{Service: host.Service{Name: "klif", Type: host.TypeDriver}, Altitudes: []string{"320400"}}, "320400"},
		{"two instances", Entry{Service: host.Service{Name: "klif", Type: host.TypeDriver}, Altitudes: []string{"320400", "320401"}}, "320400,320401"},
		{"Defender minifilter", Entry{Service: host.Service{Name: "WdFilter", Type: host.TypeDriver}, Altitudes: []string{"328010"}}, "328010"},
		{"driver without instances", Entry{Service: host.Service{Name: "klhk", Type: host.TypeDriver}}, ""},
		{"service", Entry{Service: host.Service{Name: "AVP", Type: host.TypeService}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Observe(tt.e, "", false).Altitude; got != tt.want {
				t.Errorf("Altitude = %q, want %q", got, tt.want)
			}
		})
	}
}
