package services

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/winreg"
)

// readKeyAll is ReadKey as it was before keys that are no service stopped
// being read past their Type and ImagePath.
func readKeyAll(k winreg.Key, path string, have host.Service) (Entry, error) {
	var e Entry
	var errs []error
	note := func(err error) {
		if err != nil && !errors.Is(err, winreg.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	e.RawType = have.RawType
	if e.RawType == 0 {
		if n, err := winreg.Uint(k, "Type"); err == nil {
			e.RawType = uint32(n)
		} else {
			note(err)
		}
	}
	if n, err := winreg.Uint(k, "Start"); err == nil {
		e.StartType = host.StartTypeOf(uint32(n))
	} else {
		note(err)
	}
	if v, err := k.Value("ImagePath"); err == nil {
		e.ImagePath = clean(v.String())
	} else {
		note(err)
	}
	if have.DisplayName == "" {
		if v, err := k.Value("DisplayName"); err == nil {
			e.DisplayName = clean(v.String())
		} else {
			note(err)
		}
	}
	e.Type = host.ServiceTypeOf(e.RawType)
	if e.Type == host.TypeDriver {
		e.Altitudes = altitudes(k, note)
	}
	return e, keyErr(path, errs)
}

// dropped is readRegistry's test for a key that is no service.
func dropped(e Entry, have host.Service) bool {
	return e.RawType == 0 && e.ImagePath == "" && have == (host.Service{})
}

// TestReadKeySameEntries: every key of the fixture, known to the SCM or
// not, is kept or dropped as reading all its values did, and kept ones
// read the same.
func TestReadKeySameEntries(t *testing.T) {
	reg := loadRegistry(t)
	k, err := reg.OpenKey(winreg.LocalMachine, ServicesKey, winreg.View64)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	names, err := k.SubKeyNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		for _, have := range []host.Service{{}, {Name: name, DisplayName: "From SCM", RawType: 0x10}, {Name: name}} {
			sk, err := k.OpenSubKey(name)
			if err != nil {
				t.Fatal(err)
			}
			old, oldErr := readKeyAll(sk, ServicesKey+`\`+name, have)
			e, err := ReadKey(sk, ServicesKey+`\`+name, have)
			sk.Close()
			if dropped(old, have) != dropped(e, have) {
				t.Errorf("%s (SCM %+v): dropped %v, reading every value %v", name, have, dropped(e, have), dropped(old, have))
				continue
			}
			if dropped(e, have) {
				continue
			}
			if !reflect.DeepEqual(e, old) || fmt.Sprint(err) != fmt.Sprint(oldErr) {
				t.Errorf("%s (SCM %+v):\n got %+v %v\nwant %+v %v", name, have, e, err, old, oldErr)
			}
		}
	}
	if !slices.Contains(names, "EventLog") {
		t.Error("the fixture lost its key that is no service")
	}
}

// TestRegistryCalls holds the source to its budget of registry calls.
func TestRegistryCalls(t *testing.T) {
	calls := func(text string, scm []host.Service) int64 {
		t.Helper()
		fake := winreg.NewFake()
		if err := fake.Import(strings.NewReader("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services]\n\n"+text), winreg.View64); err != nil {
			t.Fatal(err)
		}
		reg := winreg.NewCounter(fake)
		h := &host.Host{OS: host.Windows, FS: systemDrive, Registry: reg, Services: fakeSCM{list: scm}}
		if _, err := collect(t, h); err != nil {
			t.Fatal(err)
		}
		return reg.Calls()
	}
	base := calls("", nil)
	key := func(name, values string) string {
		return "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\" + name + "]\n" + values + "\n"
	}
	svc := key("Svc", "\"Type\"=dword:00000010\n\"Start\"=dword:00000003\n\"ImagePath\"=\"C:\\\\svc.exe\"\n\"DisplayName\"=\"Service\"\n")
	drv := key("Drv", "\"Type\"=dword:00000001\n\"Start\"=dword:00000003\n\"ImagePath\"=\"\\\\SystemRoot\\\\drv.sys\"\n\"DisplayName\"=\"Driver\"\n")
	for _, c := range []struct {
		what  string
		text  string
		scm   []host.Service
		calls int64
	}{
		{"a service the SCM lists: open, Start, ImagePath", svc, []host.Service{{Name: "Svc", DisplayName: "Service", RawType: 0x10}}, 3},
		{"a service the SCM does not list: open, Type, Start, ImagePath, DisplayName", svc, nil, 5},
		{"a driver the SCM lists: open, Start, ImagePath, Instances", drv, []host.Service{{Name: "Drv", DisplayName: "Driver", RawType: 1}}, 4},
		{"a key that is no service: open, Type, ImagePath", key("EventLogSource", "\"Start\"=dword:00000003\n\"DisplayName\"=\"x\"\n"), nil, 3},
	} {
		if got := calls(c.text, c.scm) - base; got != c.calls {
			t.Errorf("%s: %d registry calls, want %d", c.what, got, c.calls)
		}
	}
}
