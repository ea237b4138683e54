package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// precedenceValues has three valid, different values for every setting:
// what the file, the environment and managed settings say.
func precedenceValues(dir string) map[string][3]string {
	p := func(name string) string { return filepath.Join(dir, name) }
	return map[string][3]string{
		"collector.url":         {"https://file.example", "https://env.example", "https://managed.example"},
		"collector.token":       {"tok-file", "tok-env", "tok-managed"},
		"collector.token_file":  {p("tf-file"), p("tf-env"), p("tf-managed")},
		"collector.ca_file":     {p("ca-file"), p("ca-env"), p("ca-managed")},
		"collector.ca_pins":     {"sha256/" + strings.Repeat("A", 43) + "=", "sha256/" + strings.Repeat("B", 43) + "=", "sha256/" + strings.Repeat("C", 43) + "="},
		"collector.client_cert": {p("cert-file"), p("cert-env"), p("cert-managed")},
		"collector.client_key":  {p("key-file"), p("key-env"), p("key-managed")},
		"collector.proxy":       {"http://file.proxy:3128", "http://env.proxy:3128", "socks5://managed.proxy:1080"},
		"collector.timeout":     {"10s", "20s", "30s"},
		"schedule.interval":     {"1h", "2h", "3h"},
		"schedule.jitter":       {"10m", "20m", "40m"},
		"schedule.splay":        {"1m", "3m", "5m"},
		"spool.max_reports":     {"10", "20", "30"},
		"spool.max_bytes":       {"2MiB", "3MB", "4194304"},
		"scan.sources":          {"dpkg", "rpm,apk", "processes"},
		"scan.source_timeout":   {"11s", "12s", "13s"},
		"scan.memory_limit":     {"100MiB", "120MiB", "140MiB"},
		"log.level":             {"debug", "warn", "error"},
		"log.file":              {"/var/log/file.log", "/var/log/env.log", "/var/log/managed.log"},
		"log.max_size_mb":       {"1", "2", "3"},
		"log.max_files":         {"4", "5", "6"},
		"tags":                  {"site=file", "site=env,dept=it", "site=managed"},
		"state_dir":             {"/srv/file", "/srv/env", "/srv/managed"},
	}
}

// yamlOf writes settings as a config file, grouped into sections.
func yamlOf(values map[string]string) string {
	var b strings.Builder
	for _, sec := range append(sections(), "") {
		head := false
		for _, s := range table {
			v, ok := values[s.Name]
			if !ok || !strings.HasPrefix(s.Name, sec+".") && !(sec == "" && !strings.Contains(s.Name, ".")) {
				continue
			}
			if sec == "" {
				fmt.Fprintf(&b, "%s: %q\n", s.Name, v)
				continue
			}
			if !head {
				fmt.Fprintf(&b, "%s:\n", sec)
				head = true
			}
			fmt.Fprintf(&b, "  %s: %q\n", strings.TrimPrefix(s.Name, sec+"."), v)
		}
	}
	return b.String()
}

// needs are settings a setting cannot be set without, set in the file.
var needs = map[string]string{
	"collector.client_cert": "collector.client_key",
	"collector.client_key":  "collector.client_cert",
}

// Every setting follows defaults < file < env < managed, in every
// combination of layers, and Origin says which layer won.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	values := precedenceValues(dir)
	for _, f := range []string{"tf-file", "tf-env", "tf-managed", "key-file", "key-env", "key-managed"} {
		writeFile(t, dir, f, "token-of-"+f+"\n", 0o600)
	}
	for _, f := range []string{"ca-file", "ca-env", "ca-managed", "cert-file", "cert-env", "cert-managed"} {
		writeFile(t, dir, f, "pem\n", 0o644)
	}
	layers := []string{OriginFile, OriginEnv, OriginManaged}
	for _, s := range table {
		v, ok := values[s.Name]
		if !ok {
			t.Errorf("no precedence values for %s", s.Name)
			continue
		}
		for mask := 1; mask < 8; mask++ {
			var set []string
			for i, l := range layers {
				if mask&(1<<i) != 0 {
					set = append(set, l)
				}
			}
			name := strings.ReplaceAll(s.Name, ".", "_") + "_" + strings.Join(set, "_")
			t.Run(name, func(t *testing.T) {
				fileValues := map[string]string{}
				envs := map[string]string{}
				managed := ManagedMap{}
				win := -1
				for i := range layers {
					if mask&(1<<i) == 0 {
						continue
					}
					win = i
					switch i {
					case 0:
						fileValues[s.Name] = v[0]
					case 1:
						envs[s.Env] = v[1]
					case 2:
						managed[s.Managed] = v[2]
					}
				}
				if other, ok := needs[s.Name]; ok {
					fileValues[other] = values[other][0]
				}
				path := writeFile(t, t.TempDir(), "config.yaml", yamlOf(fileValues), 0o600)
				e, err := Load(LoadOptions{OS: Linux, Path: path, LookupEnv: env(envs), Managed: managed, Euid: -1})
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.parse(v[win])
				if err != nil {
					t.Fatal(err)
				}
				if got := s.get(&e.Config); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v (from %s)", s.Name, got, want, layers[win])
				}
				if e.Origin[s.Name] != layers[win] {
					t.Errorf("origin %q, want %q", e.Origin[s.Name], layers[win])
				}
				wantWhere := map[string]string{OriginFile: path + ":", OriginEnv: "env " + s.Env, OriginManaged: "managed " + s.Managed}[layers[win]]
				if !strings.HasPrefix(e.Where[s.Name], wantWhere) {
					t.Errorf("where %q, want %q…", e.Where[s.Name], wantWhere)
				}
				if s.Name == "collector.token_file" {
					wantTok := "token-of-" + filepath.Base(v[win])
					if e.Config.Collector.Token != wantTok || e.Origin["collector.token"] != layers[win] {
						t.Errorf("token %q from %s, want %q", e.Config.Collector.Token, e.Origin["collector.token"], wantTok)
					}
				}
			})
		}
	}
}

// A token in a higher layer replaces a token file from a lower one (and
// the other way round), with a warning; both in one layer is an error.
func TestTokenChoiceAcrossLayers(t *testing.T) {
	dir := t.TempDir()
	tf := writeFile(t, dir, "token", "file-token\n", 0o600)
	path := writeFile(t, dir, "config.yaml", yamlFor("collector.token_file", tf), 0o600)

	e, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1,
		LookupEnv: env(map[string]string{"AVSCOUT_COLLECTOR_TOKEN": "env-token"})})
	if err != nil {
		t.Fatal(err)
	}
	if e.Config.Collector.Token != "env-token" || e.Config.Collector.TokenFile != "" {
		t.Errorf("token %q, token_file %q", e.Config.Collector.Token, e.Config.Collector.TokenFile)
	}
	if want := fmt.Sprintf("collector.token_file (from %s:2) is ignored: collector.token is set by env AVSCOUT_COLLECTOR_TOKEN", path); !strings.Contains(strings.Join(e.Warnings, "\n"), want) {
		t.Errorf("warnings %q lack %q", e.Warnings, want)
	}

	path = writeFile(t, dir, "config.yaml", yamlFor("collector.token", "file-token"), 0o600)
	e, err = Load(LoadOptions{OS: Linux, Path: path, Euid: -1, Managed: ManagedMap{"CollectorTokenFile": tf}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Config.Collector.Token != "file-token" || e.Origin["collector.token"] != OriginManaged || e.Config.Collector.TokenFile != tf {
		t.Errorf("token %q from %s, token_file %q", e.Config.Collector.Token, e.Origin["collector.token"], e.Config.Collector.TokenFile)
	}

	_, err = Load(LoadOptions{OS: Linux, Path: path, Euid: -1,
		LookupEnv: env(map[string]string{"AVSCOUT_COLLECTOR_TOKEN": "a", "AVSCOUT_COLLECTOR_TOKEN_FILE": tf})})
	if want := "config: collector.token (from env AVSCOUT_COLLECTOR_TOKEN): collector.token_file is set too (from env AVSCOUT_COLLECTOR_TOKEN_FILE): set only one"; errText(err) != want {
		t.Errorf("error %q\nwant %q", err, want)
	}
}

// Empty environment variables and managed values count as not set; tags
// from managed settings replace the lower layers' tags as a whole.
func TestEmptyAndTags(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", "collector:\n  url: https://file.example\ntags:\n  site: berlin\n  floor: \"3\"\n", 0o600)
	e, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1,
		LookupEnv: env(map[string]string{"AVSCOUT_COLLECTOR_URL": "", "AVSCOUT_TAGS": " "}),
		Managed:   ManagedMap{"CollectorURL": "  ", "Tags": "site=paris,dept=ops", "tags.dept": "sec, ops", "Tags.room": "101"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Config.Collector.URL != "https://file.example" || e.Origin["collector.url"] != OriginFile {
		t.Errorf("url %q from %s", e.Config.Collector.URL, e.Origin["collector.url"])
	}
	want := map[string]string{"site": "paris", "dept": "sec, ops", "room": "101"}
	if !reflect.DeepEqual(e.Config.Tags, want) || e.Origin["tags"] != OriginManaged {
		t.Errorf("tags %q from %s, want %q", e.Config.Tags, e.Origin["tags"], want)
	}
}
