package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// Show prints what Load put together, secrets hidden, each setting with
// its origin; the golden file is the whole output for a fixed input.
func TestShowGolden(t *testing.T) {
	m, err := FromPlist(strings.NewReader(readTestdata(t, "managed.xml.plist")))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Load(LoadOptions{OS: Darwin, Path: filepath.Join(t.TempDir(), "none.yaml"), Euid: -1, Managed: m,
		LookupEnv: env(map[string]string{
			"AVSCOUT_COLLECTOR_PROXY":     "http://agent:pr0xy-pass@proxy.example:3128",
			"AVSCOUT_COLLECTOR_CA_PINS":   "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
			"AVSCOUT_SCAN_SOURCE_TIMEOUT": "1m30s",
		})})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := e.Show(&out); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"mdm-token-5be0a1c2", "pr0xy-pass"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("Show prints the secret %q:\n%s", secret, out.String())
		}
	}
	golden := filepath.Join("testdata", "show.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("Show output differs from %s (go test -run TestShowGolden -update to accept):\n%s", golden, out.String())
	}
}

// What Show prints loads back to the same configuration; a token read
// from a token file is not printed at all, and one given directly is
// printed as <redacted>.
func TestShowRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"token", "client-key.pem"} {
		writeFile(t, dir, f, "enroll-3f9a6c1d2e\n", 0o600)
	}
	for _, f := range []string{"ca.pem", "client.pem"} {
		writeFile(t, dir, f, "pem\n", 0o644)
	}
	tests := []struct {
		name    string
		fixture string
		envs    map[string]string
		redact  bool // the token is printed as <redacted>
	}{
		{name: "full", fixture: "full.yaml"},
		{name: "minimal", fixture: "minimal.yaml", redact: true},
		{name: "env_token", fixture: "example.yaml", envs: map[string]string{"AVSCOUT_COLLECTOR_TOKEN": "enroll-3f9a6c1d2e", "AVSCOUT_TAGS": "a=b"}, redact: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.fixture
			if name == "example.yaml" {
				name = "config.example.yaml"
			}
			path := fixture(t, name, dir)
			e, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1, LookupEnv: env(tt.envs)})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := e.Show(&out); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if strings.Contains(text, e.Config.Collector.Token) && e.Config.Collector.Token != "" {
				t.Fatalf("Show prints the token:\n%s", text)
			}
			if got := strings.Contains(text, "token: <redacted>"); got != tt.redact {
				t.Errorf("token: <redacted> printed: %v, want %v\n%s", got, tt.redact, text)
			}
			for _, s := range table {
				if s.Name == "collector.token" && !tt.redact {
					continue
				}
				leaf := s.Name[strings.LastIndex(s.Name, ".")+1:]
				comment := e.comment(s.Name)
				if !strings.Contains(text, leaf+":") || !strings.Contains(text, "# "+comment) {
					t.Errorf("%s: no %q with comment %q in\n%s", s.Name, leaf, comment, text)
				}
			}
			again := writeFile(t, t.TempDir(), "shown.yaml", text, 0o600)
			e2, err := Load(LoadOptions{OS: Linux, Path: again, Euid: -1})
			if err != nil {
				t.Fatalf("loading what Show printed: %v\n%s", err, text)
			}
			want := e.Config
			if tt.redact {
				want.Collector.Token = redacted
			}
			if !reflect.DeepEqual(e2.Config, want) {
				t.Errorf("round trip\n got %+v\nwant %+v", e2.Config, want)
			}
		})
	}
}
