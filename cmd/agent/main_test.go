package main

// End-to-end tests: the real avscout binary scans fixture roots whose
// package databases are written by the real dpkg and rpm, real processes,
// and this machine itself.

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/golden")

// binary is the avscout built once for all tests.
var binary string

// testDir is a temporary folder that lives as long as the test binary:
// for what is built once and shared by tests (binaries, signing keys).
var testDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "avscout-e2e-")
	if err != nil {
		panic(err)
	}
	testDir = dir
	binary = filepath.Join(dir, "avscout")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic("build avscout: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// avscout runs the binary and returns stdout, stderr and the exit code.
func avscout(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run avscout %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// scanJSON scans with --format json, checks the output against the
// report's JSON Schema and decodes it.
func scanJSON(t *testing.T, wantCode int, args ...string) (*report.Report, []byte) {
	t.Helper()
	out, stderr, code := avscout(t, append([]string{"scan", "--format", "json"}, args...)...)
	if code != wantCode {
		t.Fatalf("avscout scan %v: exit %d, want %d\nstderr: %s", args, code, wantCode, stderr)
	}
	if err := schema.Validate([]byte(out)); err != nil {
		t.Fatalf("report does not match the schema: %v\n%s", err, out)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("decode report: %v", err)
	}
	return &r, []byte(out)
}

// redact replaces what changes from run to run so whole reports can be
// compared with golden files.
func redact(t *testing.T, doc []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	m["report_id"] = "REDACTED"
	m["generated_at"] = "REDACTED"
	m["duration_ms"] = 0
	m["agent"].(map[string]any)["version"] = "REDACTED"
	m["host"].(map[string]any)["root"] = "REDACTED"
	for _, s := range m["sources"].([]any) {
		s.(map[string]any)["duration_ms"] = 0
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// Error texts may quote the fixture's temporary path.
	if root, ok := fixtureRoots[t.Name()]; ok {
		out = bytes.ReplaceAll(out, []byte(root), []byte("$ROOT"))
	}
	return append(out, '\n')
}

// fixtureRoots maps a test name to the temporary root it scanned.
var fixtureRoots = map[string]string{}

func checkGolden(t *testing.T, name string, doc []byte) {
	t.Helper()
	got := redact(t, doc)
	file := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/agent -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (rerun with -update if the change is intended):\n%s", file, diff(string(want), string(got)))
	}
}

// diff shows the first differing lines of two texts.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + "\n  want: " + wl + "\n   got: " + gl + "\n")
			shown++
		}
	}
	return b.String()
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// product returns the report's product with the given id.
func product(r *report.Report, id string) (report.Product, bool) {
	for _, p := range r.Products {
		if p.ID == id {
			return p, true
		}
	}
	return report.Product{}, false
}

func productIDs(r *report.Report) []string {
	var ids []string
	for _, p := range r.Products {
		ids = append(ids, p.ID+"("+p.State+")")
	}
	return ids
}

func sourceStatus(r *report.Report, name string) report.Source {
	for _, s := range r.Sources {
		if s.Name == name {
			return s
		}
	}
	return report.Source{}
}
