package report

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestComputeVerdict(t *testing.T) {
	p := func(restricted bool, state string) Product {
		return Product{Restricted: restricted, State: state}
	}
	src := func(name, status string, warnings ...string) Source {
		return Source{Name: name, Status: status, Warnings: warnings}
	}
	ok := []Source{src("dpkg", StatusOK), src("processes", StatusUnavailable), src("apps", StatusOK, "Applications/X.app: bad plist")}
	tests := []struct {
		name     string
		products []Product
		sources  []Source
		want     string
	}{
		{"no_products", nil, nil, VerdictCompliant},
		{"unrestricted_active", []Product{p(false, StateActive)}, ok, VerdictCompliant},
		{"restricted_active", []Product{p(true, StateActive)}, ok, VerdictNonCompliant},
		{"restricted_installed", []Product{p(true, StateInstalled)}, ok, VerdictNonCompliant},
		{"restricted_leftover", []Product{p(true, StateLeftover)}, ok, VerdictCompliant},
		{"restricted_unknown_state", []Product{p(true, "")}, ok, VerdictCompliant},
		{"leftover_and_installed", []Product{p(true, StateLeftover), p(false, StateActive), p(true, StateInstalled)}, ok, VerdictNonCompliant},
		// Unavailable sources and warnings are no failure.
		{"unavailable_and_warnings", nil, ok, VerdictCompliant},
		{"source_error", nil, append(ok, src("rpm", StatusError)), VerdictIncomplete},
		{"source_timeout", []Product{p(true, StateLeftover)}, append(ok, src("units", StatusTimeout)), VerdictIncomplete},
		{"enricher_error", []Product{p(false, StateActive)}, append(ok, src("pe", StatusError)), VerdictIncomplete},
		// A restricted product found wins over a failed source.
		{"restricted_and_timeout", []Product{p(true, StateActive)}, append(ok, src("units", StatusTimeout)), VerdictNonCompliant},
		{"unknown_status", nil, []Source{src("x", "weird")}, VerdictCompliant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ComputeVerdict(tt.products, tt.sources); got != tt.want {
				t.Errorf("ComputeVerdict = %q, want %q", got, tt.want)
			}
			r := &Report{Products: tt.products, Sources: tt.sources, Compliant: true, Verdict: "bogus"}
			r.SetVerdict()
			if r.Verdict != tt.want || r.Compliant != (tt.want == VerdictCompliant) {
				t.Errorf("SetVerdict: verdict %q compliant %v", r.Verdict, r.Compliant)
			}
		})
	}
}

// An older report has no verdict: VerdictOf derives it; a report with one
// keeps it.
func TestVerdictOf(t *testing.T) {
	failed := []Source{{Name: "dpkg", Status: StatusError}}
	for _, tt := range []struct {
		name string
		r    Report
		want string
	}{
		{"old_compliant_with_failed_source", Report{Compliant: true, Sources: failed}, VerdictIncomplete},
		{"old_clean", Report{Compliant: true}, VerdictCompliant},
		{"old_restricted", Report{Products: []Product{{Restricted: true, State: StateActive}}, Sources: failed}, VerdictNonCompliant},
		{"has_verdict", Report{Verdict: VerdictIncomplete}, VerdictIncomplete},
		{"unknown_verdict", Report{Verdict: "maybe", Sources: failed}, VerdictIncomplete},
	} {
		if got := VerdictOf(&tt.r); got != tt.want {
			t.Errorf("%s: VerdictOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSort(t *testing.T) {
	prod := func(id, vendor, name, state string, restricted bool, ev ...Evidence) Product {
		return Product{ID: id, Vendor: vendor, Name: name, State: state, Restricted: restricted, Evidence: ev}
	}
	ev := func(source, kind, value, location string) Evidence {
		return Evidence{Source: source, Kind: kind, Value: value, Location: location}
	}
	ids := func(ps []Product) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.ID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name     string
		products []Product
		want     string // product ids in order
	}{
		{"restricted_first", []Product{
			prod("a", "A", "A", StateActive, false),
			prod("b", "B", "B", StateLeftover, true),
		}, "b,a"},
		{"state_order", []Product{
			prod("left", "V", "N", StateLeftover, false),
			prod("odd", "V", "N", "weird", false),
			prod("inst", "V", "N", StateInstalled, false),
			prod("act", "V", "N", StateActive, false),
		}, "act,inst,left,odd"},
		{"vendor_name_id", []Product{
			prod("z2", "Zeta", "Same", StateActive, false),
			prod("z1", "Zeta", "Same", StateActive, false),
			prod("y", "Zeta", "Alpha", StateActive, false),
			prod("x", "Alpha", "Zulu", StateActive, false),
		}, "x,y,z1,z2"},
		{"full", []Product{
			prod("defender", "Microsoft", "Defender", StateActive, false),
			prod("kes-left", "Kaspersky", "KSC Agent", StateLeftover, true),
			prod("wl", "Parallels", "PIS", StateInstalled, true),
			prod("kes", "Kaspersky", "KES", StateActive, true),
		}, "kes,wl,kes-left,defender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Products: tt.products}
			r.Sort()
			if got := ids(r.Products); got != tt.want {
				t.Errorf("order = %s, want %s", got, tt.want)
			}
		})
	}

	t.Run("evidence_sorted_and_deduplicated", func(t *testing.T) {
		r := &Report{Products: []Product{prod("p", "V", "N", StateActive, false,
			ev("procs", "process", "avp", "pid 2"),
			ev("dpkg", "package", "kesl 12", "var/lib/dpkg/status"),
			ev("procs", "process", "avp", "pid 1"),
			ev("dpkg", "package", "kesl 12", "var/lib/dpkg/status"),
			ev("dpkg", "file", "kesl", "x"),
		)}}
		r.Sort()
		want := []Evidence{
			ev("dpkg", "file", "kesl", "x"),
			ev("dpkg", "package", "kesl 12", "var/lib/dpkg/status"),
			ev("procs", "process", "avp", "pid 1"),
			ev("procs", "process", "avp", "pid 2"),
		}
		if !reflect.DeepEqual(r.Products[0].Evidence, want) {
			t.Errorf("evidence = %v, want %v", r.Products[0].Evidence, want)
		}
	})

	t.Run("sources_by_name", func(t *testing.T) {
		r := &Report{Sources: []Source{{Name: "wsc"}, {Name: "dpkg"}, {Name: "procs"}}}
		r.Sort()
		var got []string
		for _, s := range r.Sources {
			got = append(got, s.Name)
		}
		if strings.Join(got, ",") != "dpkg,procs,wsc" {
			t.Errorf("sources = %v", got)
		}
	})

	t.Run("order_independent", func(t *testing.T) {
		a, b := mixedReport(), mixedReport()
		for i, j := 0, len(b.Products)-1; i < j; i, j = i+1, j-1 {
			b.Products[i], b.Products[j] = b.Products[j], b.Products[i]
		}
		a.Sort()
		b.Sort()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("sorting depends on input order")
		}
	})
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := make(map[string]bool)
	for range 10000 {
		id := NewID()
		if !uuidV4.MatchString(id) {
			t.Fatalf("NewID() = %q, not a lowercase version-4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestMarshalJSON(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	r := Report{
		SchemaVersion: SchemaVersion,
		ReportID:      NewID(),
		GeneratedAt:   time.Date(2026, 11, 22, 11, 0, 0, 987654321, paris),
		Products:      []Product{{ID: "p"}}, // nil evidence
	}
	for _, v := range []any{r, &r} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, want := range []string{`"generated_at":"2026-11-22T10:00:00Z"`, `"sources":[]`, `"evidence":[]`} {
			if !strings.Contains(s, want) {
				t.Errorf("%T: %s lacks %s", v, s, want)
			}
		}
		if strings.Contains(s, "null") || strings.Contains(s, `"tags"`) || strings.Contains(s, `"policy"`) || strings.Contains(s, `"technology"`) {
			t.Errorf("%T: %s holds null or an empty optional field", v, s)
		}
	}
	if r.Products[0].Evidence != nil {
		t.Errorf("MarshalJSON modified the report")
	}
	b, _ := json.Marshal(Report{})
	if !strings.Contains(string(b), `"products":[]`) {
		t.Errorf("nil products: %s", b)
	}
}

// TestWireReportMirrorsReport guards MarshalJSON against a field added to
// Report but not to wireReport.
func TestWireReportMirrorsReport(t *testing.T) {
	tags := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			out = append(out, f.Tag.Get("json"))
		}
		return out
	}
	got, want := tags(reflect.TypeFor[wireReport]()), tags(reflect.TypeFor[Report]())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wireReport json fields %v, Report %v", got, want)
	}
}

func TestOneLineAndTruncate(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Kaspersky", 20, "Kaspersky"},
		{"newlines_tabs", "a\nb\r\nc\td", 20, "a b  c d"},
		{"escape_sequence", "x\x1b[31my", 20, "x?[31my"},
		{"nul", "a\x00b", 20, "a?b"},
		{"bidi_override", "exe.\u202egnp", 20, "exe.?gnp"},
		{"line_separator", "a\u2028b", 20, "a b"},
		{"invalid_utf8", "a\xffb", 20, "a?b"},
		{"trim", "  a  ", 20, "a"},
		{"truncate", "abcdefghij", 8, "abcde..."},
		{"truncate_runes", "ÄÖÜäöüßé", 6, "ÄÖÜ..."},
		{"exact", "abcdefgh", 8, "abcdefgh"},
		{"word_boundary", "no updates from 2024-09-29", 22, "no updates from..."},
		{"long_word", "a verylongwordindeed", 12, "a verylon..."},
		{"tiny", "abcdef", 2, ".."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncate(oneLine(tt.in), tt.max); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorLine(t *testing.T) {
	got := errorLine("open x: permission denied\n\nopen y: no such file\n", 100)
	if want := "open x: permission denied; open y: no such file"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
