package store

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/report"
)

// Hosts whose definitions are old, or stopped when the policy barred
// updates, are listed and counted from their latest reports' products;
// a date an agent sends that is not a date is not compared.
func TestDefinitionsFilters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		now := t0.Add(time.Hour)
		c.Set(now)
		// windows-kes-active: KES, bases 2024-09-28, restricted by a rule
		// barring updates from 2024-09-29.
		stopped := fleettest.Report(t, "windows-kes-active", "h-stopped", "stopped", t0)
		if p := stopped.Products[0]; p.DefinitionsDate != "2024-09-28" || p.Policy == nil || p.Policy.UpdatesEnded != "2024-09-29" {
			t.Fatalf("fixture: %q, %+v", p.DefinitionsDate, p.Policy)
		}
		// The same product still updating after the ban (a mirror): old
		// definitions by date, not stopped at the ban.
		updating := fleettest.Report(t, "windows-kes-active", "h-updating", "updating", t0)
		setDates(updating, "2025-03-01")
		// A date that is no date, and a host without dates.
		hostile := fleettest.Report(t, "windows-kes-active", "h-hostile", "hostile", t0)
		setDates(hostile, "2024-13-45")
		none := fleettest.Report(t, "debian-kaspersky", "h-none", "none", t0)
		// Bases two years older than the ban stopped for another reason.
		ancient := fleettest.Report(t, "windows-kes-active", "h-ancient", "ancient", t0)
		setDates(ancient, "2022-08-01")
		for _, r := range []*report.Report{stopped, updating, hostile, none, ancient} {
			ingest(t, s, r, t0, Stored)
		}

		for _, tt := range []struct {
			name   string
			filter HostFilter
			want   []string
		}{
			{"stopped at the ban", HostFilter{DefinitionsStopped: true}, []string{"h-stopped"}},
			{"older than 2025-06-01", HostFilter{DefinitionsBefore: "2025-06-01"}, []string{"h-ancient", "h-stopped", "h-updating"}},
			{"older than 2025-03-01", HostFilter{DefinitionsBefore: "2025-03-01"}, []string{"h-ancient", "h-stopped"}},
			{"older than 2020", HostFilter{DefinitionsBefore: "2020-01-01"}, nil},
		} {
			page, err := s.Hosts(ctx, tt.filter)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var got []string
			for _, h := range page.Hosts {
				got = append(got, h.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: hosts %v, want %v", tt.name, got, tt.want)
			}
		}
		if _, err := s.Hosts(ctx, HostFilter{DefinitionsBefore: "2025-02-30"}); err == nil {
			t.Error("a filter date that is no date was taken")
		}

		sum, err := s.Summary(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if sum.DefinitionsStopped != 1 {
			t.Errorf("Summary.DefinitionsStopped = %d, want 1", sum.DefinitionsStopped)
		}

		dates := map[string]string{}
		err = s.Export(ctx, HostFilter{}, func(row ExportRow) error {
			if row.HasProduct && row.Product.ID == stopped.Products[0].ID {
				dates[row.Host.ID] = row.Product.DefinitionsDate + " " + row.Product.UpdatesEnded
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"h-stopped": "2024-09-28 2024-09-29", "h-updating": "2025-03-01 2024-09-29", "h-hostile": " 2024-09-29",
			"h-ancient": "2022-08-01 2024-09-29"}
		if !maps.Equal(dates, want) {
			t.Errorf("exported dates %v, want %v", dates, want)
		}
	})
}

// setDates gives every product of r, and its evidence, definitions date d.
func setDates(r *report.Report, d string) {
	for i := range r.Products {
		r.Products[i].DefinitionsDate = d
	}
}

func TestStoppedAtBan(t *testing.T) {
	for _, tt := range []struct {
		defs, ended string
		want        bool
	}{
		{"2024-09-29", "2024-09-29", true},
		{"2024-09-28", "2024-09-29", true},
		{"2024-08-30", "2024-09-29", true},
		{"2024-08-29", "2024-09-29", false}, // 31 days before
		{"2024-09-30", "2024-09-29", false}, // updated after the ban
		{"2022-08-01", "2024-09-29", false},
		{"", "2024-09-29", false},
		{"2024-09-28", "", false},
		{"2024-02-31", "2024-03-01", false},
	} {
		if got := StoppedAtBan(tt.defs, tt.ended); got != tt.want {
			t.Errorf("StoppedAtBan(%q, %q) = %v, want %v", tt.defs, tt.ended, got, tt.want)
		}
	}
}

func TestEvidenceSummary(t *testing.T) {
	ev := func(n int) []report.Evidence {
		var out []report.Evidence
		for i := range n {
			out = append(out, report.Evidence{Source: "dpkg", Kind: "package", Value: "kesl " + string(rune('a'+i))})
		}
		return out
	}
	for _, tt := range []struct {
		name string
		ev   []report.Evidence
		want string
	}{
		{"none", nil, ""},
		{"one", ev(1), "dpkg package: kesl a"},
		{"three", ev(3), "dpkg package: kesl a; dpkg package: kesl b; dpkg package: kesl c"},
		{"five", ev(5), "dpkg package: kesl a; dpkg package: kesl b; dpkg package: kesl c (+2 more)"},
		{"kind in value", []report.Evidence{{Source: "paths", Kind: "executable", Value: "executable /opt/x"}}, "paths: executable /opt/x"},
		{"nul", []report.Evidence{{Source: "s", Kind: "k", Value: "a\x00b"}}, "s k: a\uFFFDb"},
	} {
		if got := evidenceSummary(tt.ev); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	huge := []report.Evidence{{Source: "s", Kind: "k", Value: string(make([]byte, 1<<20))}}
	if got := evidenceSummary(huge); len(got) > summaryBytes+len("…") {
		t.Errorf("summary of a huge value is %d bytes", len(got))
	}
}
