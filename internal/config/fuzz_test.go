package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad: any config file loads or fails with an error, never a panic;
// what loads, Show prints, and what Show prints loads back the same.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "~", "a: &a [*a]", "tags: {a: ~}", "collector: {url: 'http://[::1]:1/'}",
		"scan: {sources: [a, *x]}", "<<: {collector: {}}", "schedule: {interval: 1e400h}",
		"spool: {max_bytes: 8EiB}", "tags: a=b,c", "? a\n", "!!binary x: y", "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error without the config: prefix: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := e.Show(&out); err != nil {
			t.Fatalf("Show: %v", err)
		}
		if strings.Contains(e.Config.Collector.Proxy, "@") {
			return // the password is redacted: no round trip
		}
		again := filepath.Join(dir, "shown.yaml")
		if err := os.WriteFile(again, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		e2, err := Load(LoadOptions{OS: Linux, Path: again, Euid: -1})
		if err != nil {
			t.Fatalf("loading what Show printed: %v\n%s", err, out.String())
		}
		want := e.Config
		if want.Collector.TokenFile == "" && want.Collector.Token != "" {
			want.Collector.Token = redacted
		}
		if !reflect.DeepEqual(e2.Config, want) {
			t.Fatalf("round trip\n got %+v\nwant %+v\n%s", e2.Config, want, out.String())
		}
	})
}

// FuzzFromPlist: any plist is read or refused with an error, never a
// panic, and what is read, Load takes without a panic.
func FuzzFromPlist(f *testing.F) {
	for _, name := range []string{"managed.xml.plist", "managed.binary.plist"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("bplist00"))
	f.Add([]byte("{ CollectorURL = \"https://x\"; Tags = { a = b; }; }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := FromPlist(bytes.NewReader(data))
		if err != nil {
			return
		}
		_, _ = Load(LoadOptions{OS: Darwin, Path: "/nonexistent/config.yaml", Euid: -1, Managed: m})
	})
}
