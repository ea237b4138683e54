package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultPaths(t *testing.T) {
	tests := []struct {
		os                      OS
		path, stateDir, logFile string
	}{
		{Linux, "/etc/avscout/config.yaml", "/var/lib/avscout", ""},
		{Windows, `C:\ProgramData\avscout\config.yaml`, `C:\ProgramData\avscout`, `C:\ProgramData\avscout\logs\avscout.log`},
		{Darwin, "/Library/Application Support/avscout/config.yaml", "/Library/Application Support/avscout", "/Library/Logs/avscout/avscout.log"},
	}
	for _, tt := range tests {
		t.Run(string(tt.os), func(t *testing.T) {
			if got := DefaultPath(tt.os); got != tt.path {
				t.Errorf("DefaultPath = %q, want %q", got, tt.path)
			}
			d := Defaults(tt.os)
			if d.StateDir != tt.stateDir || d.Log.File != tt.logFile {
				t.Errorf("Defaults: state_dir %q, log.file %q; want %q, %q", d.StateDir, d.Log.File, tt.stateDir, tt.logFile)
			}
			if d.Schedule.Interval != Duration(6*time.Hour) || d.Schedule.Jitter != Duration(30*time.Minute) ||
				d.Schedule.Splay != Duration(2*time.Minute) || d.Collector.Timeout != Duration(time.Minute) ||
				d.Spool.MaxReports != 500 || d.Spool.MaxBytes != 100<<20 || d.Scan.SourceTimeout != Duration(30*time.Second) ||
				d.Log.Level != "info" || d.Log.MaxSizeMB != 10 || d.Log.MaxFiles != 3 {
				t.Errorf("Defaults(%s) = %+v", tt.os, d)
			}
		})
	}
}

// A missing file at the default location means defaults; a missing file
// given explicitly is an error.
func TestMissingFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "config.yaml")
	e, err := Load(LoadOptions{OS: Linux, Path: missing, Euid: -1})
	if err != nil {
		t.Fatalf("missing default file: %v", err)
	}
	if !reflect.DeepEqual(e.Config, Defaults(Linux)) || e.Path != "" {
		t.Errorf("got %+v from %q, want the defaults and no path", e.Config, e.Path)
	}
	for _, s := range table {
		if e.Origin[s.Name] != OriginDefault {
			t.Errorf("origin of %s = %q", s.Name, e.Origin[s.Name])
		}
	}
	_, err = Load(LoadOptions{OS: Linux, Path: missing, Explicit: true, Euid: -1})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("explicit missing file: %v", err)
	}
	if _, err := Load(LoadOptions{OS: "plan9"}); err == nil || !strings.Contains(err.Error(), `unknown OS "plan9"`) {
		t.Errorf("unknown OS: %v", err)
	}
}

// Valid fixtures load to the configuration they describe.
func TestLoadFixtures(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "token", "  enroll-3f9a6c1d2e\n", 0o600)
	writeFile(t, dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0o644)
	writeFile(t, dir, "client.pem", "-----BEGIN CERTIFICATE-----\n", 0o644)
	writeFile(t, dir, "client-key.pem", "-----BEGIN PRIVATE KEY-----\n", 0o600)

	full := Config{
		Collector: Collector{
			URL:       "https://avscout.corp.example:8443/ingest",
			Token:     "enroll-3f9a6c1d2e",
			TokenFile: filepath.Join(dir, "token"),
			CAFile:    filepath.Join(dir, "ca.pem"),
			CAPins: []string{
				"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
				"sha256/y5+3WUc/bDhqUhoJ5zUKDfDYTVuWeUdqBzm+tAfdDTs=",
			},
			ClientCert: filepath.Join(dir, "client.pem"),
			ClientKey:  filepath.Join(dir, "client-key.pem"),
			Proxy:      "http://proxy.corp.example:3128",
			Timeout:    Duration(150 * time.Second),
		},
		Schedule: Schedule{Interval: Duration(12 * time.Hour), Jitter: Duration(time.Hour), Splay: Duration(10 * time.Minute)},
		Spool:    Spool{MaxReports: 2000, MaxBytes: 1 << 30},
		Scan:     Scan{Sources: []string{"dpkg", "rpm", "units", "paths", "processes"}, SourceTimeout: Duration(45 * time.Second), MemoryLimit: 150 << 20},
		Log:      Log{Level: "debug", File: "/var/log/avscout/avscout.log", MaxSizeMB: 50, MaxFiles: 5},
		Tags:     map[string]string{"site": "berlin", "department": "IT, 3rd floor", "cost-center": "4711"},
		StateDir: "/srv/avscout",
	}
	minimal := Defaults(Linux)
	minimal.Collector.URL = "https://avscout.example.com"
	minimal.Collector.Token = "enroll-7d1f0c9e4b2a"
	loopback := Defaults(Linux)
	loopback.Collector.URL = "http://127.0.0.1:8080"

	tests := []struct {
		name     string
		fixture  string
		os       OS
		want     Config
		fromFile []string // settings whose origin is the file; all others default
		warnings []string
	}{
		{name: "full", fixture: "full.yaml", os: Linux, want: full, fromFile: names(table)},
		{name: "minimal", fixture: "minimal.yaml", os: Linux, want: minimal, fromFile: []string{"collector.url", "collector.token"}},
		{name: "empty", fixture: "empty.yaml", os: Darwin, want: Defaults(Darwin),
			warnings: []string{"collector.url is not set"}},
		{name: "http_loopback", fixture: "http-loopback.yaml", os: Linux, want: loopback, fromFile: []string{"collector.url"},
			warnings: []string{"no enrollment token"}},
		{name: "example", fixture: "config.example.yaml", os: Windows, want: Defaults(Windows)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fixture(t, tt.fixture, dir)
			e, err := Load(LoadOptions{OS: tt.os, Path: path, Explicit: true, Euid: -1})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e.Config, tt.want) {
				t.Errorf("config\n got %+v\nwant %+v", e.Config, tt.want)
			}
			if e.Path != path {
				t.Errorf("Path = %q, want %q", e.Path, path)
			}
			for _, s := range table {
				want := OriginDefault
				if slices.Contains(tt.fromFile, s.Name) {
					want = OriginFile
				}
				if e.Origin[s.Name] != want {
					t.Errorf("origin of %s = %q, want %q", s.Name, e.Origin[s.Name], want)
				}
			}
			for _, w := range tt.warnings {
				if !slices.ContainsFunc(e.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("warnings %q lack %q", e.Warnings, w)
				}
			}
		})
	}
}

func names(t []setting) []string {
	var out []string
	for _, s := range t {
		out = append(out, s.Name)
	}
	return out
}

// A Windows configuration, read where a Windows agent reads it, with
// %ProgramData% expanded.
func TestLoadWindows(t *testing.T) {
	drive := windowsDrive{t.TempDir()}
	data := strings.ReplaceAll(readTestdata(t, "windows.yaml"), "\n", "\r\n") // as Notepad saves it
	drive.write(t, DefaultPath(Windows), data)
	drive.write(t, `C:\ProgramData\avscout\token.txt`, "win-token-0a1b2c\r\n")
	e, err := Load(LoadOptions{
		OS:        Windows,
		LookupEnv: env(map[string]string{"ProgramData": `C:\ProgramData`}),
		ReadFile:  drive.ReadFile,
		Stat:      drive.Stat,
		Euid:      0, // ignored for Windows targets
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.Config
	if c.Collector.TokenFile != `C:\ProgramData\avscout\token.txt` || c.Collector.Token != "win-token-0a1b2c" {
		t.Errorf("token file %q, token %q", c.Collector.TokenFile, c.Collector.Token)
	}
	if c.Log.File != "D:/logs/avscout.log" || c.StateDir != `C:\ProgramData\avscout` || c.Tags["site"] != "München" {
		t.Errorf("got %+v", c)
	}
	if e.Path != DefaultPath(Windows) || e.Origin["collector.token"] != OriginFile {
		t.Errorf("path %q, token origin %q", e.Path, e.Origin["collector.token"])
	}
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Fixtures with one mistake each fail with an error that names the
// problem and where it is.
func TestLoadFixtureErrors(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string
	}{
		{"unknown-key.yaml", []string{`config.yaml:3: unknown setting "collector.tokn_file" (did you mean "collector.token_file"?)`}},
		{"unknown-section.yaml", []string{`config.yaml:1: unknown setting "colector" (did you mean "collector"?)`}},
		{"malformed.yaml", []string{"config.yaml: malformed YAML", "tab character"}},
		{"duplicate-key.yaml", []string{"config.yaml:3: schedule.interval is set twice (first at line 2)"}},
		{"http-url.yaml", []string{`config: collector.url (from `, `config.yaml:2): "http://avscout.corp.example:8080" uses http: https is required except for loopback hosts`}},
		{"not-a-mapping.yaml", []string{"config.yaml:1: the file must be a mapping of settings"}},
		{"two-documents.yaml", []string{"a second YAML document"}},
		{"token-and-file.yaml", []string{"config: collector.token (from ", "collector.token_file is set too", "set only one"}},
		{"cert-without-key.yaml", []string{"config: collector.client_cert (from ", "collector.client_key must be set too"}},
		{"interval-too-short.yaml", []string{`config: schedule.interval (from `, `config.yaml:2): "5s" is below the minimum 1m`}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.fixture, ".yaml"), func(t *testing.T) {
			path := fixture(t, tt.fixture, t.TempDir())
			e, err := Load(LoadOptions{OS: Linux, Path: path, Explicit: true, Euid: -1})
			if err == nil {
				t.Fatalf("no error; got %+v", e.Config)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// badValues has at least one bad value for every setting, and what the
// error must say about it.
var badValues = []struct {
	setting, value, want string
}{
	{"collector.url", "ftp://avscout.example.com", "the scheme must be https"},
	{"collector.url", "http://collector.corp:8080", "https is required except for loopback hosts"},
	{"collector.url", "https://user:pw@avscout.example.com", "must not hold credentials"},
	{"collector.url", "avscout.example.com", "is not an absolute URL"},
	{"collector.url", "https://avscout.example.com:99999", "out of range"},
	{"collector.token", "two words", "visible ASCII"},
	{"collector.token_file", "token", `"token" is not an absolute linux path`},
	{"collector.ca_file", "ca.pem", "not an absolute linux path"},
	{"collector.ca_file", "/nonexistent/ca.pem", "/nonexistent/ca.pem does not exist"},
	{"collector.ca_pins", "md5/abc", `must start with "sha256/"`},
	{"collector.ca_pins", "sha256/abc=", "32-byte SHA-256"},
	{"collector.client_cert", "client.pem", "not an absolute linux path"},
	{"collector.client_key", "key.pem", "not an absolute linux path"},
	{"collector.proxy", "ftp://proxy.example.com:21", "the scheme must be http, https or socks5"},
	{"collector.proxy", "proxy:3128", "is not a proxy URL"},
	{"collector.timeout", "0s", `"0s" is below the minimum 1s`},
	{"collector.timeout", "forever", `"forever" is not a duration`},
	{"collector.timeout", "60", `"60" has no unit`},
	{"schedule.interval", "5s", `"5s" is below the minimum 1m`},
	{"schedule.interval", "1000h", `"1000h" is above the maximum 720h`},
	{"schedule.jitter", "-1m", `"-1m" is negative`},
	{"schedule.jitter", "7h", `"7h" must be less than schedule.interval "6h" (from default)`},
	{"schedule.splay", "25h", "above the maximum 24h"},
	{"spool.max_reports", "0", "0 is outside 1…100000"},
	{"spool.max_reports", "many", `"many" is not a whole number`},
	{"spool.max_bytes", "10KiB", "10KiB is outside 1MiB…1TiB"},
	{"spool.max_bytes", "100 parsecs", `unknown unit "parsecs"`},
	{"scan.sources", "Dpkg", `source "Dpkg": names are`},
	{"scan.sources", "dpkg,dpkg", `source "dpkg" given twice`},
	{"scan.source_timeout", "0s", "below the minimum 1s"},
	{"scan.memory_limit", "16MiB", "16MiB is outside 32MiB…64GiB"},
	{"log.level", "verbose", `"verbose" is not one of debug, info, warn, error`},
	{"log.file", "avscout.log", "not an absolute linux path"},
	{"log.max_size_mb", "0", "outside 1…1024"},
	{"log.max_files", "101", "outside 1…100"},
	{"tags", "Site=berlin", `tag key "Site"`},
	{"tags", "novalue", `entry 1 "novalue" is not key=value`},
	{"tags", "a=1,a=2", `tag "a" given twice`},
	{"tags", "site=" + strings.Repeat("x", 257), "value of 257 characters is longer than 256"},
	{"tags", manyTags(33), "33 tags: at most 32"},
	{"state_dir", "var/lib/avscout", "not an absolute linux path"},
}

func manyTags(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("t%d=v", i))
	}
	return strings.Join(parts, ",")
}

// yamlFor writes one setting as a config file.
func yamlFor(name, value string) string {
	q := fmt.Sprintf("%q", value)
	if sec, leaf, ok := strings.Cut(name, "."); ok {
		return fmt.Sprintf("%s:\n  %s: %s\n", sec, leaf, q)
	}
	return fmt.Sprintf("%s: %s\n", name, q)
}

// Every setting refuses a bad value, from the file and from the
// environment alike, naming the setting and where the value came from.
func TestInvalidValues(t *testing.T) {
	covered := map[string]bool{}
	for _, tt := range badValues {
		covered[tt.setting] = true
		s := lookup(tt.setting)
		t.Run(strings.ReplaceAll(tt.setting, ".", "_")+"_file", func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "config.yaml", yamlFor(tt.setting, tt.value), 0o600)
			line := 2
			if !strings.Contains(tt.setting, ".") {
				line = 1
			}
			_, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1})
			want := fmt.Sprintf("config: %s (from %s:%d): ", tt.setting, path, line)
			if !strings.Contains(errText(err), want) || !strings.Contains(errText(err), tt.want) {
				t.Errorf("error %q\nwant %q and %q", errText(err), want, tt.want)
			}
		})
		t.Run(strings.ReplaceAll(tt.setting, ".", "_")+"_env", func(t *testing.T) {
			_, err := Load(LoadOptions{OS: Linux, Path: filepath.Join(t.TempDir(), "none.yaml"), Euid: -1,
				LookupEnv: env(map[string]string{s.Env: tt.value})})
			want := fmt.Sprintf("config: %s (from env %s): ", tt.setting, s.Env)
			if !strings.Contains(errText(err), want) || !strings.Contains(errText(err), tt.want) {
				t.Errorf("error %q\nwant %q and %q", errText(err), want, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Setting != tt.setting {
				t.Errorf("errors.As *Error: %#v", ce)
			}
		})
	}
	for _, s := range table {
		if !covered[s.Name] {
			t.Errorf("no bad value for %s", s.Name)
		}
	}
}

// All problems are reported at once.
func TestErrorsJoined(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml",
		"schedule:\n  interval: 5s\nlog:\n  level: loud\nspool:\n  max_reports: -1\n", 0o600)
	_, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1})
	for _, w := range []string{"schedule.interval", "log.level", "spool.max_reports"} {
		if !strings.Contains(errText(err), "config: "+w+" (from ") {
			t.Errorf("error %q lacks %s", err, w)
		}
	}
	if n := strings.Count(errText(err), "\n"); n != 2 {
		t.Errorf("%d lines in %q, want 3", n+1, err)
	}
}

// A typo at the top level that is a setting of a section says so.
func TestUnknownKeyHints(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"url: https://x.example\n", `unknown setting "url" (did you mean url under collector:?)`},
		{"collector:\n  zzz: 1\n", `unknown setting "collector.zzz" (known: ca_file, ca_pins, client_cert, client_key, proxy, timeout, token, token_file, url)`},
		{"collector: https://x.example\n", "collector must be a mapping of settings"},
		{"scan:\n  sources:\n    a: b\n", "config: scan.sources (from "},
		{"schedule:\n  interval: [1h]\n", "takes a single value, not a list"},
		{"tags:\n  - a\n", "takes a single value, not a list"},
		{"tags:\n  site: [a]\n", "keys and values must be single values"},
		{"? [a]\n: b\n", "keys must be plain names"},
	} {
		path := writeFile(t, t.TempDir(), "config.yaml", tt.yaml, 0o600)
		_, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1})
		if !strings.Contains(errText(err), tt.want) {
			t.Errorf("%q: error %q, want %q", tt.yaml, err, tt.want)
		}
	}
}

// YAML forms a person may write all read alike: nulls leave the default,
// aliases resolve, lists may be flow or comma-separated.
func TestYAMLForms(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", `
collector:
  url: ~
  timeout: &t 90s
scan:
  sources: dpkg, rpm
  source_timeout: *t
log:
schedule:
  interval: "1h30m"
tags: {site: berlin, empty: }
`, 0o600)
	e, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1})
	if err != nil {
		t.Fatal(err)
	}
	c := e.Config
	if c.Collector.URL != "" || e.Origin["collector.url"] != OriginDefault {
		t.Errorf("null url: %q from %s", c.Collector.URL, e.Origin["collector.url"])
	}
	if c.Collector.Timeout != Duration(90*time.Second) || c.Scan.SourceTimeout != Duration(90*time.Second) {
		t.Errorf("alias: %v %v", c.Collector.Timeout, c.Scan.SourceTimeout)
	}
	if !slices.Equal(c.Scan.Sources, []string{"dpkg", "rpm"}) || c.Schedule.Interval != Duration(90*time.Minute) {
		t.Errorf("sources %q interval %v", c.Scan.Sources, c.Schedule.Interval)
	}
	if !reflect.DeepEqual(c.Tags, map[string]string{"site": "berlin", "empty": ""}) {
		t.Errorf("tags %q", c.Tags)
	}
	// The default jitter (30m) stays below half of a short interval.
	path = writeFile(t, t.TempDir(), "config.yaml", "schedule:\n  interval: 10m\n", 0o600)
	if e, err = Load(LoadOptions{OS: Linux, Path: path, Euid: -1}); err != nil || e.Config.Schedule.Jitter != Duration(5*time.Minute) {
		t.Errorf("jitter with a 10m interval: %v, %v", e, err)
	}
}

// scan.sources is checked against the names the agent passes in: an
// unknown one fails with the names that would do, from any layer.
func TestUnknownSource(t *testing.T) {
	valid := []string{"dpkg", "rpm", "processes"}
	path := writeFile(t, t.TempDir(), "config.yaml", "scan:\n  sources: [dpkg, dpkgg]\n", 0o600)
	_, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1, Sources: valid})
	want := `config: scan.sources (from ` + path + `:2): unknown source "dpkgg" (valid on linux: dpkg, rpm, processes)`
	if err == nil || err.Error() != want {
		t.Errorf("unknown source in the file: %v; want %s", err, want)
	}
	_, err = Load(LoadOptions{OS: Linux, Euid: -1, Sources: valid, Path: filepath.Join(t.TempDir(), "none.yaml"),
		LookupEnv: env(map[string]string{"AVSCOUT_SCAN_SOURCES": "rpm,apk"})})
	if err == nil || !strings.Contains(err.Error(), `env AVSCOUT_SCAN_SOURCES): unknown source "apk"`) {
		t.Errorf("unknown source in the environment: %v", err)
	}
	if e, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1}); err != nil || !slices.Equal(e.Config.Scan.Sources, []string{"dpkg", "dpkgg"}) {
		t.Errorf("without a list of names: %v, %v; want the names taken as written", e, err)
	}
	if _, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1, Sources: append(valid, "dpkgg")}); err != nil {
		t.Errorf("known names: %v", err)
	}
}
