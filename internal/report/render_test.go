package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"github.com/avscout/avscout/internal/report/schema"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestRenderGolden renders every fixture in every format and compares the
// output with testdata/golden/<fixture>.<format>; -update rewrites them.
func TestRenderGolden(t *testing.T) {
	for name, r := range fixtures() {
		for _, format := range Formats() {
			t.Run(name+"_"+format, func(t *testing.T) {
				before := r.clone()
				got := render(t, r, format)
				if again := render(t, r, format); !bytes.Equal(got, again) {
					t.Fatalf("output is not deterministic:\n%s\n---\n%s", got, again)
				}
				if !reflect.DeepEqual(before, r) {
					t.Errorf("Render modified its input")
				}
				golden := filepath.Join("testdata", "golden", name+"."+format)
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("output differs from %s (run go test -update to accept):\n%s", golden, lineDiff(string(want), string(got)))
				}
			})
		}
	}
}

// TestRenderJSONMatchesSchema validates the JSON renderer's output for
// every fixture against the schema, and checks that it reads back as the
// sorted report.
func TestRenderJSONMatchesSchema(t *testing.T) {
	for name, r := range fixtures() {
		t.Run(name, func(t *testing.T) {
			out := render(t, r, FormatJSON)
			if err := schema.Validate(out); err != nil {
				t.Fatalf("Validate: %v\n%s", err, out)
			}
			if !bytes.HasSuffix(out, []byte("}\n")) || !bytes.HasPrefix(out, []byte("{\n  \"schema_version\": 1,\n")) {
				t.Errorf("want 2-space indented JSON with a trailing newline, got:\n%s", out)
			}
			if name == "hostile" {
				return // invalid UTF-8 reads back as U+FFFD
			}
			var back Report
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			want := r.clone()
			want.Sort()
			normalizeForJSON(want)
			if !reflect.DeepEqual(&back, want) {
				t.Errorf("round trip differs:\ngot  %+v\nwant %+v", back, *want)
			}
		})
	}
}

// normalizeForJSON makes r look like a report read back from JSON.
func normalizeForJSON(r *Report) {
	if r.Products == nil {
		r.Products = []Product{}
	}
	if r.Sources == nil {
		r.Sources = []Source{}
	}
	for i := range r.Products {
		if r.Products[i].Evidence == nil {
			r.Products[i].Evidence = []Evidence{}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	var b bytes.Buffer
	err := Render(&b, cleanReport(), "xml")
	if err == nil || !strings.Contains(err.Error(), "json, table, jamf") {
		t.Errorf("unknown format: got %v, want an error listing json, table, jamf", err)
	}
	if err := Render(&b, nil, FormatJSON); err == nil {
		t.Errorf("nil report: got no error")
	}
	if b.Len() != 0 {
		t.Errorf("failed renders wrote %q", b.String())
	}
	werr := errors.New("disk full")
	for _, format := range Formats() {
		err := Render(failWriter{werr}, mixedReport(), format)
		if !errors.Is(err, werr) {
			t.Errorf("%s: write failure: got %v, want it wrapped", format, err)
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestFormatsIsACopy(t *testing.T) {
	f := Formats()
	f[0] = "changed"
	if got := Formats(); !slices.Equal(got, []string{"json", "table", "jamf"}) {
		t.Errorf("Formats() = %v after a caller changed its result", got)
	}
}

// TestTableHostile checks that values with newlines, tabs, escape
// sequences, bidi overrides, invalid UTF-8 and huge lengths neither add
// lines nor shift the columns of the table.
func TestTableHostile(t *testing.T) {
	r := hostileReport()
	out := string(render(t, r, FormatTable))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines {
		for _, c := range l {
			if c == utf8.RuneError || unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
				t.Errorf("line %d holds %U: %q", i+1, c, l)
			}
		}
		if n := utf8.RuneCountInString(l); n > 320 {
			t.Errorf("line %d is %d runes long", i+1, n)
		}
	}
	for _, bad := range []string{"INJECTED ROW\n", "\nfake line", "\x1b", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	// The header, two product rows and, after the restricted one, its why
	// and seen lines: the table occupies exactly five lines.
	hdr := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "STATE ") })
	if hdr < 0 {
		t.Fatalf("no table header in:\n%s", out)
	}
	table := lines[hdr:]
	table = table[:slices.Index(table, "")]
	if len(table) != 5 {
		t.Fatalf("table has %d lines, want 5:\n%s", len(table), strings.Join(table, "\n"))
	}
	rows := map[string][]string{
		"RESTRICTED": {table[1], table[4]},
		"CONFIDENCE": {table[1], table[4]},
		"NOTE":       {table[4]}, // the other row has no note
	}
	if !strings.HasPrefix(table[2], "    why:  ") || !strings.HasPrefix(table[3], "    seen: ") {
		t.Errorf("want why and seen lines after the restricted row, got:\n%s", strings.Join(table, "\n"))
	}
	// Every column starts at the same rune offset in the header and rows.
	for _, col := range []string{"RESTRICTED", "CONFIDENCE", "NOTE"} {
		at := runeIndex(table[0], col)
		for _, row := range rows[col] {
			rs := []rune(row)
			if at < 2 || len(rs) <= at || rs[at-1] != ' ' || rs[at] == ' ' {
				t.Errorf("column %s (at rune %d) misaligned in row %q", col, at, row)
			}
		}
	}
	if !strings.Contains(table[1], "!! yes") {
		t.Errorf("restricted active row not marked: %q", table[1])
	}
	if !strings.Contains(table[4], "white-label (Kasp ersky technology)") {
		t.Errorf("white-label row not noted: %q", table[4])
	}
}

func runeIndex(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:i])
}

// TestJamfHostile checks that the Jamf result stays one line with one
// <result> element whose text a Jamf admin can match on.
func TestJamfHostile(t *testing.T) {
	out := string(render(t, hostileReport(), FormatJamf))
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want exactly one line, got %q", out)
	}
	text, ok := strings.CutPrefix(strings.TrimSuffix(out, "</result>\n"), "<result>")
	if !ok || strings.ContainsAny(text, "<>") {
		t.Fatalf("result tags injected: %q", out)
	}
	if n := len(text); n > MaxJamfResult {
		t.Errorf("result text is %d bytes long, want at most %d: %q", n, MaxJamfResult, text)
	}
	if !strings.HasPrefix(text, "RESTRICTED: (script)alert('x')(/script) & \"KES\" 1.0?[31m (active)") {
		t.Errorf("text = %q", text)
	}
}

// WriteJamfResult, the one writer of both Jamf lines, keeps any text to
// one <result> element on one line, in Jamf Pro's limit.
func TestWriteJamfResult(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"plain", "COMPLIANT", "COMPLIANT"},
		{"close_tag", "RESTRICTED: x</result><result>COMPLIANT", "RESTRICTED: x(/result)(result)COMPLIANT"},
		{"entities_kept", "A & B \"C\" &amp;", "A & B \"C\" &amp;"},
		{"control", "ERROR: a\nb\r\tc\x1b[2J\x00d\u202e", "ERROR: a b  c?[2J?d?"},
		{"invalid_utf8", "RESTRICTED: \xff\xfe", "RESTRICTED: ??"},
		{"empty", "", ""},
		{"huge", strings.Repeat("x", 1<<20), strings.Repeat("x", MaxJamfResult-3) + "..."},
		{"huge_multibyte", strings.Repeat("Ж", 1000), strings.Repeat("Ж", (MaxJamfResult-3)/2) + "..."},
		{"exact", strings.Repeat("y", MaxJamfResult), strings.Repeat("y", MaxJamfResult)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteJamfResult(&b, tt.in); err != nil {
				t.Fatal(err)
			}
			if want := "<result>" + tt.want + "</result>\n"; b.String() != want {
				t.Errorf("got %q, want %q", b.String(), want)
			}
			text := strings.TrimSuffix(strings.TrimPrefix(b.String(), "<result>"), "</result>\n")
			if len(text) > MaxJamfResult || !utf8.ValidString(text) {
				t.Errorf("text of %d bytes, valid UTF-8 %v", len(text), utf8.ValidString(text))
			}
		})
	}
}

// TestJamfResults covers each kind of result line, including lists too
// long for the line.
func TestJamfResults(t *testing.T) {
	restricted := func(name, state string) Product {
		return Product{ID: name, Vendor: "Kaspersky", Name: name, Version: "1.0", Category: CategoryAntivirus,
			State: state, Restricted: true, Policy: bisPolicy(), Confidence: ConfidenceHigh}
	}
	other := func(name, state string) Product {
		return Product{ID: name, Vendor: "Other", Name: name, Category: CategoryAntivirus, State: state, Confidence: ConfidenceHigh}
	}
	var many []Product
	for i := range 30 {
		many = append(many, restricted(strings.TrimSpace("Kaspersky Endpoint Security "+strings.Repeat("x", i)), StateActive))
	}
	whiteLabel := restricted("Brand Suite", StateInstalled)
	whiteLabel.Vendor, whiteLabel.WhiteLabel, whiteLabel.Technology = "Brand", true, "Kaspersky"
	tests := []struct {
		name     string
		products []Product
		want     string // prefix of the text inside <result>
		wantAll  bool   // want is the whole text
	}{
		{"none", nil, "COMPLIANT", true},
		{"other_leftover_only", []Product{other("Norton", StateLeftover)}, "COMPLIANT", true},
		{"compliant", []Product{other("Microsoft Defender", StateActive), other("ClamAV", StateInstalled)}, "COMPLIANT: Microsoft Defender; ClamAV", true},
		{"leftover", []Product{restricted("KES", StateLeftover), restricted("Network Agent", StateLeftover), other("Microsoft Defender", StateActive)}, "COMPLIANT: Microsoft Defender; Kaspersky leftover components", true},
		{"leftover_only", []Product{restricted("KES", StateLeftover)}, "COMPLIANT: Kaspersky leftover components", true},
		{"restricted", []Product{restricted("KES", StateActive), other("Microsoft Defender", StateActive)}, "RESTRICTED: KES 1.0 (active)", true},
		{"white_label", []Product{whiteLabel}, "RESTRICTED: Brand Suite 1.0 (installed, Kaspersky white-label)", true},
		{"restricted_before_leftover", []Product{restricted("KES", StateLeftover), restricted("KAV", StateInstalled)}, "RESTRICTED: KAV 1.0 (installed)", true},
		{"many", many, "RESTRICTED: Kaspersky Endpoint Security 1.0 (active); Kaspersky Endpoint Security x 1.0 (active);", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cleanReport()
			r.Products = tt.products
			r.SetVerdict()
			out := string(render(t, r, FormatJamf))
			text, ok := strings.CutPrefix(strings.TrimSuffix(out, "</result>\n"), "<result>")
			if !ok || strings.Contains(text, "\n") {
				t.Fatalf("not one <result> line: %q", out)
			}
			if tt.wantAll && text != tt.want || !strings.HasPrefix(text, tt.want) {
				t.Errorf("got %q, want %q", text, tt.want)
			}
			if n := len(text); n > MaxJamfResult {
				t.Errorf("text is %d bytes long", n)
			}
			if tt.name == "many" && !strings.HasSuffix(text, " more") {
				t.Errorf("long list not counted: %q", text)
			}
		})
	}
}

func TestFitListLongFirstItem(t *testing.T) {
	got := fitList("RESTRICTED: ", []string{strings.Repeat("&", 300), "second item"}, "; ", "")
	if n := len(got); n > MaxJamfResult {
		t.Errorf("%d bytes", n)
	}
	if !strings.HasSuffix(got, "&&&...; +1 more") {
		t.Errorf("got %q", got)
	}
}

func render(t *testing.T, r *Report, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, format); err != nil {
		t.Fatalf("Render(%s): %v", format, err)
	}
	return b.Bytes()
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			shown++
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  - " + strings.ReplaceAll(wl, "\t", "\\t") + "\n  + " + strings.ReplaceAll(gl, "\t", "\\t") + "\n")
		}
	}
	return b.String()
}

// An incomplete scan is never COMPLIANT in the Jamf line nor in
// the table banner; a restricted product found wins over a failed source.
func TestIncompleteBannerAndJamf(t *testing.T) {
	kes := Product{ID: "kes", Vendor: "Kaspersky", Name: "KES", Version: "1.0", Category: CategoryAntivirus,
		State: StateActive, Restricted: true, Policy: bisPolicy(), Confidence: ConfidenceHigh}
	clam := Product{ID: "clamav", Vendor: "Cisco", Name: "ClamAV", Category: CategoryAntivirus, State: StateActive, Confidence: ConfidenceHigh}
	timedOut := Source{Name: "units", Status: StatusTimeout, Error: "deadline exceeded"}
	failed := Source{Name: "dpkg", Status: StatusError, Error: "is a directory"}
	for _, tt := range []struct {
		name              string
		products          []Product
		sources           []Source
		jamf, banner      string
		verdict           string
		compliant         bool
		legacyWithoutVerd bool // the report lacks the verdict field (an older agent's)
	}{
		{"nothing_seen", nil, []Source{timedOut, failed}, "INCOMPLETE: dpkg (error), units (timeout)",
			"INCOMPLETE: no restricted product found, but 2 source(s) could not look: dpkg (error), units (timeout)", VerdictIncomplete, false, false},
		{"other_product", []Product{clam}, []Source{failed}, "INCOMPLETE: dpkg (error)",
			"INCOMPLETE: no restricted product found, but 1 source(s) could not look: dpkg (error)", VerdictIncomplete, false, false},
		{"restricted_wins", []Product{kes}, []Source{failed}, "RESTRICTED: KES 1.0 (active)",
			"NOT COMPLIANT: 1 restricted product(s) installed or active", VerdictNonCompliant, false, false},
		{"warnings_only", []Product{clam}, []Source{{Name: "apps", Status: StatusOK, Warnings: []string{"X.app: bad"}}}, "COMPLIANT: ClamAV",
			"COMPLIANT", VerdictCompliant, true, false},
		{"older_report", nil, []Source{failed}, "INCOMPLETE: dpkg (error)",
			"INCOMPLETE: no restricted product found, but 1 source(s) could not look: dpkg (error)", VerdictIncomplete, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cleanReport()
			r.Products, r.Sources = tt.products, tt.sources
			r.SetVerdict()
			if r.Verdict != tt.verdict || r.Compliant != tt.compliant {
				t.Errorf("verdict %q compliant %v, want %q %v", r.Verdict, r.Compliant, tt.verdict, tt.compliant)
			}
			if tt.legacyWithoutVerd {
				r.Verdict, r.Compliant = "", true // what an older agent wrote
			}
			if got := string(render(t, r, FormatJamf)); got != "<result>"+tt.jamf+"</result>\n" {
				t.Errorf("jamf %q, want %q", got, tt.jamf)
			}
			table := string(render(t, r, FormatTable))
			if !strings.Contains(table, "\n\n"+tt.banner+"\n") {
				t.Errorf("table lacks the banner %q:\n%s", tt.banner, table)
			}
		})
	}
}
