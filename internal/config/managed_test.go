package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/winreg"
)

// The XML and binary forms of the same managed preferences read alike,
// and win over the file and the environment.
func TestFromPlist(t *testing.T) {
	wantSettings := map[string]string{
		"CollectorURL":     "https://avscout.mdm.example",
		"CollectorToken":   "mdm-token-5be0a1c2",
		"ScheduleInterval": "3600s",
		"ScheduleSplay":    "5m",
		"SpoolMaxBytes":    "50MiB",
		"LogMaxFiles":      "7",
		"ScanSources":      "apps,receipts,launchd",
		"Tags.site":        "cupertino",
		"Tags.fleet":       "macs, managed",
		"FutureSetting":    "true",
	}
	for _, name := range []string{"managed.xml.plist", "managed.binary.plist"} {
		t.Run(strings.ReplaceAll(name, ".", "_"), func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := FromPlist(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Settings()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, wantSettings) {
				t.Errorf("settings\n got %q\nwant %q", got, wantSettings)
			}

			path := writeFile(t, t.TempDir(), "config.yaml",
				"collector:\n  url: https://file.example\nschedule:\n  interval: 12h\nlog:\n  max_files: 2\n", 0o600)
			e, err := Load(LoadOptions{OS: Darwin, Path: path, Euid: -1, Managed: m,
				LookupEnv: env(map[string]string{"AVSCOUT_SCHEDULE_INTERVAL": "8h", "AVSCOUT_LOG_LEVEL": "debug"})})
			if err != nil {
				t.Fatal(err)
			}
			c := e.Config
			if c.Collector.URL != "https://avscout.mdm.example" || c.Collector.Token != "mdm-token-5be0a1c2" ||
				c.Schedule.Interval != Duration(time.Hour) || c.Schedule.Splay != Duration(5*time.Minute) ||
				c.Spool.MaxBytes != 50<<20 || c.Log.MaxFiles != 7 || c.Log.Level != "debug" ||
				!slices.Equal(c.Scan.Sources, []string{"apps", "receipts", "launchd"}) ||
				!reflect.DeepEqual(c.Tags, map[string]string{"site": "cupertino", "fleet": "macs, managed"}) {
				t.Errorf("config %+v", c)
			}
			wantOrigin := map[string]string{"collector.url": OriginManaged, "schedule.interval": OriginManaged,
				"log.level": OriginEnv, "log.max_files": OriginManaged, "tags": OriginManaged, "schedule.jitter": OriginDefault}
			for k, v := range wantOrigin {
				if e.Origin[k] != v {
					t.Errorf("origin of %s = %q, want %q", k, e.Origin[k], v)
				}
			}
			if w := e.Where["schedule.interval"]; w != "managed ScheduleInterval in managed preferences io.avscout.agent" {
				t.Errorf("where %q", w)
			}
			if !slices.ContainsFunc(e.Warnings, func(s string) bool {
				return strings.Contains(s, `managed setting "FutureSetting" in managed preferences io.avscout.agent is not known`)
			}) {
				t.Errorf("warnings %q", e.Warnings)
			}
		})
	}
}

func TestFromPlistErrors(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">`
	tests := []struct{ name, plist, want string }{
		{"not_a_plist", "hello: world\n{", "malformed plist"},
		{"array_top", head + `<array><string>a</string></array></plist>`, "holds an <array>, not a dictionary"},
		{"data_value", head + `<dict><key>CollectorURL</key><data>AAEC</data></dict></plist>`, "CollectorURL: <data> is not supported"},
		{"date_value", head + `<dict><key>ScheduleInterval</key><date>2026-01-01T00:00:00Z</date></dict></plist>`, "ScheduleInterval: a <date> is not supported"},
		{"dict_value", head + `<dict><key>ScanSources</key><dict/></dict></plist>`, "ScanSources: a <dict> is not supported"},
		{"comma_item", head + `<dict><key>ScanSources</key><array><string>a,b</string></array></dict></plist>`, "item 1 holds a comma"},
		{"tag_dict_value", head + `<dict><key>Tags</key><dict><key>site</key><array/></dict></dict></plist>`, `Tags tag "site": an <array> is not supported`},
		{"binary_truncated", "bplist00\xd1\x01\x02", "malformed plist"},
		{"huge", head + strings.Repeat(" ", MaxConfigSize), "larger than 1MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromPlist(strings.NewReader(tt.plist))
			if !strings.Contains(errText(err), tt.want) || !strings.HasPrefix(errText(err), "managed preferences: ") {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
	// A bad value in a plist that parses is named by Load.
	m, err := FromPlist(strings.NewReader(head + `<dict><key>schedulejitter</key><integer>-5</integer><key>tags</key><string>x</string></dict></plist>`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(LoadOptions{OS: Darwin, Path: filepath.Join(t.TempDir(), "none"), Euid: -1, Managed: m})
	for _, want := range []string{
		`config: schedule.jitter (from managed ScheduleJitter in managed preferences io.avscout.agent): "-5s" is negative`,
		`config: tags (from managed Tags in managed preferences io.avscout.agent): entry 1 "x" is not key=value`,
	} {
		if !strings.Contains(errText(err), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}

// policyRegistry returns a registry holding testdata/policy.reg.
func policyRegistry(t *testing.T) *winreg.Fake {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "policy.reg"))
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

// Policy values in the registry: strings, numbers (seconds for
// durations), lists, tags in a subkey; they win over the other layers.
func TestFromRegistry(t *testing.T) {
	reg := policyRegistry(t)
	got, err := FromRegistry(reg).Settings()
	if err != nil {
		t.Fatal(err)
	}
	pins := "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=,sha256/y5+3WUc/bDhqUhoJ5zUKDfDYTVuWeUdqBzm+tAfdDTs="
	want := map[string]string{
		"CollectorURL":       "https://avscout.gpo.example",
		"CollectorTokenFile": `%ProgramData%\avscout\token.txt`,
		"CollectorCAPins":    pins,
		"ScheduleInterval":   "7200s",
		"ScheduleJitter":     "600s",
		"SpoolMaxBytes":      "209715200",
		"SpoolMaxReports":    "1000",
		"LogLevel":           "warn",
		"Tags.site":          "frankfurt",
		"Tags.department":    "Finance, 2nd floor",
		"ScanSources":        "uninstall,services,processes",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings\n got %q\nwant %q", got, want)
	}

	drive := windowsDrive{t.TempDir()}
	drive.write(t, DefaultPath(Windows), "collector:\n  url: https://file.example\n  token: local-token\nlog:\n  level: debug\n  max_files: 9\n")
	drive.write(t, `C:\ProgramData\avscout\token.txt`, "gpo-token-77\n")
	e, err := Load(LoadOptions{OS: Windows, Managed: FromRegistry(reg), ReadFile: drive.ReadFile, Stat: drive.Stat,
		LookupEnv: env(map[string]string{"ProgramData": `C:\ProgramData`, "AVSCOUT_LOG_LEVEL": "error"})})
	if err != nil {
		t.Fatal(err)
	}
	c := e.Config
	if c.Collector.URL != "https://avscout.gpo.example" || c.Collector.Token != "gpo-token-77" ||
		c.Collector.TokenFile != `C:\ProgramData\avscout\token.txt` || len(c.Collector.CAPins) != 2 ||
		c.Schedule.Interval != Duration(2*time.Hour) || c.Schedule.Jitter != Duration(10*time.Minute) ||
		c.Spool.MaxBytes != 200<<20 || c.Spool.MaxReports != 1000 || c.Log.Level != "warn" || c.Log.MaxFiles != 9 ||
		!slices.Equal(c.Scan.Sources, []string{"uninstall", "services", "processes"}) ||
		c.Tags["department"] != "Finance, 2nd floor" {
		t.Errorf("config %+v", c)
	}
	if e.Origin["collector.token"] != OriginManaged || e.Where["log.level"] != `managed LogLevel in HKLM\SOFTWARE\Policies\avscout` {
		t.Errorf("token from %s, log.level from %q", e.Origin["collector.token"], e.Where["log.level"])
	}
	if !slices.ContainsFunc(e.Warnings, func(s string) bool {
		return strings.Contains(s, "collector.token (from ") && strings.Contains(s, "is ignored")
	}) {
		t.Errorf("warnings %q", e.Warnings)
	}
}

func TestFromRegistryEdges(t *testing.T) {
	// No policy key: no managed settings.
	got, err := FromRegistry(winreg.NewFake()).Settings()
	if err != nil || len(got) != 0 {
		t.Errorf("no key: %v, %v", got, err)
	}
	tests := []struct{ name, reg, want string }{
		{"binary", `"CollectorURL"=hex:01,02`, `HKLM\SOFTWARE\Policies\avscout value "CollectorURL": type REG_BINARY is not supported`},
		{"short_dword", `"ScheduleInterval"=hex(4):01,02`, `value "ScheduleInterval": unexpected value type: REG_DWORD of 2 bytes`},
		{"multi_comma", `"ScanSources"=hex(7):61,00,2c,00,62,00,00,00,00,00`, `value "ScanSources": item 1 holds a comma`},
		{"tags_binary", "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\avscout\\Tags]\n\"site\"=hex:00", `avscout\Tags value "site": type REG_BINARY`},
		{"value_and_subkey", "\"ScanSources\"=\"a\"\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\avscout\\ScanSources]\n\"1\"=\"b\"", "ScanSources is both a value and a subkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := winreg.NewFake()
			text := "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\avscout]\n" + tt.reg + "\n"
			if err := reg.Import(strings.NewReader(text), winreg.View64); err != nil {
				t.Fatal(err)
			}
			_, err := FromRegistry(reg).Settings()
			if !strings.Contains(errText(err), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			_, err = Load(LoadOptions{OS: Windows, Path: `Z:\none.yaml`, Managed: FromRegistry(reg)})
			if !strings.HasPrefix(errText(err), `config: managed settings in HKLM\SOFTWARE\Policies\avscout: `) {
				t.Errorf("Load error %q", err)
			}
		})
	}
	// Unknown values and subkeys are warnings; the default value is ignored.
	reg := winreg.NewFake()
	text := "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\avscout]\n@=\"x\"\n\"Colector\"=hex:00\n\"NewThing\"=dword:1\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\avscout\\Other]\n"
	if err := reg.Import(strings.NewReader(text), winreg.View64); err != nil {
		t.Fatal(err)
	}
	e, err := Load(LoadOptions{OS: Windows, Path: `Z:\none.yaml`, Managed: FromRegistry(reg)})
	if err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(e.Warnings, "\n")
	for _, w := range []string{`"Colector"`, `"NewThing"`, `"Other\\"`} {
		if !strings.Contains(warnings, "managed setting "+w) {
			t.Errorf("warnings %q lack %s", warnings, w)
		}
	}
}
