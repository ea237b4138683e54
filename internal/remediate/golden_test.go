package remediate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/report"
)

var update = flag.Bool("update", false, "rewrite the plans in testdata/plans")

// The plan of every host of the scenario corpus (cmd/agent/testdata/
// scenarios), from the report the real avscout wrote for it — the Linux
// binary on fixture roots, avscout.exe under Wine (see
// testdata/README.md for how the reports were taken): one per catalogued
// Kaspersky family on each OS, white-labelled builds, leftovers and the
// decoys, which must get no plan. Each plan is kept as the table and the
// JSON the CLI prints; -update rewrites them.
func TestPlanGolden(t *testing.T) {
	c := defaultCatalog(t)
	files, err := filepath.Glob("testdata/reports/*.json")
	if err != nil || len(files) < 30 {
		t.Fatalf("%d reports in testdata/reports (%v): the corpus is missing", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var r report.Report
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			p := New(&r, c, Options{})
			for _, pp := range p.Products {
				if !restrictedIn(&r, pp.ID) {
					t.Errorf("planned %s, which the report does not mark restricted", pp.ID)
				}
			}
			for _, format := range Formats() {
				var buf bytes.Buffer
				if err := Render(&buf, p, format); err != nil {
					t.Fatal(err)
				}
				ext := map[string]string{"table": ".txt", "json": ".json"}[format]
				golden := filepath.Join("testdata", "plans", name+ext)
				if *update {
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/remediate -update)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("%s plan differs from %s (rerun with -update if intended):\n%s", format, golden, buf.String())
				}
			}
		})
	}
}

func restrictedIn(r *report.Report, id string) bool {
	for _, p := range r.Products {
		if p.ID == id {
			return p.Restricted
		}
	}
	return false
}
