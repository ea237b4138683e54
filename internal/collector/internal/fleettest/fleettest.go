// Package fleettest gives the collector's tests real reports: the golden
// outputs of the agent's end-to-end tests (cmd/agent/testdata/golden, real
// scans of fixture hosts, with volatile fields redacted), made whole again
// with a fresh report id, a time and a host identity, as an agent in a
// fleet would send them.
package fleettest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/report"
)

// goldenDir is the agent's golden reports, found from this file's place
// in the repository.
func goldenDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("fleettest: cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "cmd", "agent", "testdata", "golden")
}

// Names lists the golden reports, e.g. "debian-kaspersky".
func Names(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(goldenDir(t))
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatal("fleettest: no golden reports")
	}
	return names
}

// Report returns the golden report name (see [Names]) as host hostID,
// called hostname, would send it at time at, with a new report id.
func Report(t testing.TB, name, hostID, hostname string, at time.Time) *report.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir(t), name+".json"))
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("fleettest: %s: %v", name, err)
	}
	m["report_id"] = report.NewID()
	m["generated_at"] = report.FormatTime(at)
	m["agent"].(map[string]any)["version"] = "1.0.0"
	h := m["host"].(map[string]any)
	h["id"], h["hostname"] = hostID, hostname
	if h["root"] == "REDACTED" {
		h["root"] = "/"
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("fleettest: %s: %v", name, err)
	}
	return &r
}

// JSON encodes r as the agent does.
func JSON(t testing.TB, r *report.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Gzip compresses b.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TypicalSize is the size of the JSON of [Typical]'s reports, about.
const TypicalSize = 10 << 10

// Typical returns a report of about TypicalSize bytes of JSON: the
// golden darwin-other-vendors (five products) with more evidence, the
// size a busy endpoint's report has.
func Typical(t testing.TB, hostID string, at time.Time) *report.Report {
	t.Helper()
	r := Report(t, "darwin-other-vendors", hostID, hostID, at)
	for i := 0; len(JSON(t, r)) < TypicalSize; i++ {
		p := &r.Products[i%len(r.Products)]
		p.Evidence = append(p.Evidence, report.Evidence{
			Source: "paths", Kind: "file",
			Value:    fmt.Sprintf("/Library/Application Support/%s/component-%d.bundle", p.Vendor, i),
			Location: fmt.Sprintf("Library/Application Support/%s", p.Vendor),
		})
	}
	return r
}
