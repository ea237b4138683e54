package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
)

// fullDoc is a golden report (a real scan, see fleettest) with every
// optional part filled in: a dropped item, tags, explain lines and
// source warnings, as a generic document to break.
func fullDoc(t testing.TB, name string) map[string]any {
	t.Helper()
	r := fleettest.Report(t, name, "h1", "host-1", t0)
	r.Tags = map[string]string{"site": "paris", "department": "it"}
	r.Dropped = []report.Dropped{{Evidence: report.Evidence{Source: "paths", Kind: "file", Value: "/opt/x", Location: "/opt"}, Reason: "no corroboration"}}
	if len(r.Products) > 0 {
		r.Products[0].Explain = []string{"dpkg: package kesl"}
		r.Products[0].DefinitionsDate = "2024-09-28"
		r.Products[0].Evidence[0].DefinitionsDate = "2024-09-28"
		r.Products[0].Evidence[0].UninstallCommand = `MsiExec.exe /X{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`
		r.Products[0].Evidence[0].QuietUninstallCommand = `"C:\Program Files\K\uninstall.exe" /S`
		if r.Products[0].Policy != nil {
			r.Products[0].Policy.UpdatesEnded = "2024-09-29"
		}
	}
	if len(r.Sources) > 0 {
		r.Sources[0].Warnings = []string{"/var/lib/x: permission denied"}
	}
	var m map[string]any
	if err := json.Unmarshal(fleettest.JSON(t, r), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// enums are the schema's enumerations, by key.
var enums = map[string][]string{
	"os":         {"linux", "windows", "darwin"},
	"verdict":    {report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete},
	"category":   {"antivirus", "edr", "management-agent", "vpn", "password-manager", "parental-control", "security-suite", "scan-engine", "other"},
	"state":      {report.StateActive, report.StateInstalled, report.StateLeftover},
	"confidence": {report.ConfidenceHigh, report.ConfidenceMedium, report.ConfidenceLow},
	"status":     {report.StatusOK, report.StatusError, report.StatusUnavailable, report.StatusTimeout},
}

// caseVariants are spellings of s that a case-insensitive match would
// take for s: upper case, title case, swapped, and the Unicode letters
// that fold to k and s (Kelvin sign, long s) as encoding/json folded them.
func caseVariants(s string) []string {
	var out []string
	add := func(v string) {
		if v != s && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	add(strings.ToUpper(s))
	if s != "" {
		add(strings.ToUpper(s[:1]) + s[1:])
		add(s[:len(s)-1] + strings.ToUpper(s[len(s)-1:]))
	}
	add(strings.Replace(s, "k", "\u212a", 1))
	add(strings.Replace(s, "s", "\u017f", 1))
	return out
}

// mutation is a document of the agreement corpus.
type mutation struct {
	name string
	doc  []byte
}

// mutations breaks base in every way the corpus tries, at every object
// reachable through the first item of each array: each key renamed to
// its case variants, doubled by one, removed; each value replaced by
// values of every type; each enum set to each of its values and to
// their case variants.
func mutations(t testing.TB, label string, base map[string]any) []mutation {
	t.Helper()
	baseJSON, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	var out []mutation
	// edit applies fn to the object at path in a fresh copy of base.
	edit := func(name string, path []any, fn func(obj map[string]any)) {
		var doc any
		if err := json.Unmarshal(baseJSON, &doc); err != nil {
			t.Fatal(err)
		}
		v := doc
		for _, p := range path {
			switch p := p.(type) {
			case string:
				v = v.(map[string]any)[p]
			case int:
				v = v.([]any)[p]
			}
		}
		fn(v.(map[string]any))
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mutation{fmt.Sprintf("%s %v %s", label, path, name), b})
	}
	samples := []any{nil, -1.0, 1.5, 0.0, "", "x", true, false, []any{}, map[string]any{}, []any{"x"}}
	var walk func(path []any, obj map[string]any)
	walk = func(path []any, obj map[string]any) {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range caseVariants(k) {
				edit("rename "+k+"→"+v, path, func(o map[string]any) { o[v] = o[k]; delete(o, k) })
				edit("add "+v, path, func(o map[string]any) { o[v] = o[k] })
			}
			edit("delete "+k, path, func(o map[string]any) { delete(o, k) })
			for _, s := range samples {
				edit(fmt.Sprintf("%s=%#v", k, s), path, func(o map[string]any) { o[k] = s })
			}
			if values, ok := enums[k]; ok && (len(path) == 0 || path[len(path)-1] != "tags") {
				for _, val := range values {
					edit(k+"="+val, path, func(o map[string]any) { o[k] = val })
					for _, v := range caseVariants(val) {
						edit(k+"="+v, path, func(o map[string]any) { o[k] = v })
					}
				}
			}
			switch v := obj[k].(type) {
			case map[string]any:
				walk(append(slices.Clip(path), k), v)
			case []any:
				if len(v) > 0 {
					if item, ok := v[0].(map[string]any); ok {
						walk(append(slices.Clip(path), k, 0), item)
					}
				}
			}
		}
	}
	walk(nil, base)
	out = append(out, mutation{label + " as is", baseJSON})
	return out
}

// The schema is the documented contract: whatever it accepts the
// collector's decoder accepts, and whatever it refuses the decoder
// refuses, on a corpus of valid reports and of thousands of broken ones
// (hostile case variants of every key and every enum value, unknown
// fields, missing fields, wrong types, broken rules, odd numbers and
// dates, escapes). The decoder is stricter only where the schema cannot
// speak: keys given twice, and its limits (tested apart).
func TestDecoderAgreesWithSchema(t *testing.T) {
	var corpus []mutation
	for _, name := range fleettest.Names(t) {
		corpus = append(corpus, mutation{name + " golden", fleettest.JSON(t, fleettest.Report(t, name, "h1", "host-1", t0))})
	}
	for _, name := range []string{"debian-kaspersky", "windows-clean", "debian-incomplete"} {
		corpus = append(corpus, mutations(t, name, fullDoc(t, name))...)
	}
	valid := fleettest.JSON(t, fleettest.Report(t, "debian-kaspersky", "h1", "host-1", t0))
	raw := func(name string, edit func(s string) string) {
		corpus = append(corpus, mutation{name, []byte(edit(string(valid)))})
	}
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("corpus: %q not in the document", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	raw("escaped key", replace(`"report_id"`, `"report\u005fid"`))
	raw("escaped value", replace(`"os":"linux"`, `"os":"l\u0069nux"`))
	raw("escaped wrong case", replace(`"os":"linux"`, `"os":"\u004cinux"`))
	raw("utf16 key", replace(`"schema_version"`, `"\u0073chema_version"`))
	raw("schema_version 1.0", replace(`"schema_version":1`, `"schema_version":1.0`))
	raw("schema_version 2", replace(`"schema_version":1`, `"schema_version":2`))
	raw("schema_version 1e0", replace(`"schema_version":1`, `"schema_version":1e0`))
	for _, d := range []string{"2026-11-01T10:00:00+01:00", "2026-11-01T10:00:00.5Z", "2026-11-01 10:00:00Z", "2026-11-01", "2026-13-01T10:00:00Z", "2026-11-01T10:00:00z", "2026-11-01T10:00:00"} {
		raw("generated_at "+d, replace(`"generated_at":"`+report.FormatTime(t0)+`"`, `"generated_at":"`+d+`"`))
	}
	full, err := json.Marshal(fullDoc(t, "debian-kaspersky"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"2024-9-28", "2024-09-28T00:00:00Z", "2024-13-01", "2024-00-10", "2024-09-32", "2024-09-00", "20240928", "", "２０２４-09-28", "2024-09-28\n"} {
		old := `"definitions_date":"2024-09-28"`
		if !strings.Contains(string(full), old) {
			t.Fatalf("corpus: %s not in the full document", old)
		}
		corpus = append(corpus, mutation{"definitions_date " + d, []byte(strings.Replace(string(full), old, `"definitions_date":"`+d+`"`, 1))})
	}
	var m map[string]any
	if err := json.Unmarshal(valid, &m); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "not-a-uuid", strings.ToUpper(m["report_id"].(string)), m["report_id"].(string) + "\n", "0f8fad5b-d9cb-469f-a165-70867728950"} {
		b, _ := json.Marshal(id)
		raw("report_id "+string(b), replace(`"report_id":"`+m["report_id"].(string)+`"`, `"report_id":`+string(b)))
	}
	for _, doc := range []string{"", "null", "[]", "{}", `"x"`, "1", "{", `{"schema_version":1,}`, string(valid) + "{}", string(valid[:len(valid)/2])} {
		corpus = append(corpus, mutation{fmt.Sprintf("document %.20q", doc), []byte(doc)})
	}

	accepted := 0
	for _, m := range corpus {
		schemaErr := schema.Validate(m.doc)
		_, decodeErr := decodeReport(context.Background(), m.doc, defaultLimits())
		if (schemaErr == nil) != (decodeErr == nil) {
			t.Errorf("%s: schema says %v, decoder says %v\n%.300s", m.name, schemaErr, decodeErr, m.doc)
		}
		if schemaErr == nil {
			accepted++
		}
	}
	t.Logf("%d documents, %d valid", len(corpus), accepted)
	if accepted < 20 || len(corpus)-accepted < 1000 {
		t.Errorf("corpus of %d documents with %d valid: the mutations went wrong", len(corpus), accepted)
	}
}

// What the decoder builds is what encoding/json builds from a valid
// report.
func TestDecodeReportMatchesEncodingJSON(t *testing.T) {
	for _, name := range append(fleettest.Names(t), "full") {
		t.Run(name, func(t *testing.T) {
			var doc []byte
			if name == "full" {
				doc, _ = json.Marshal(fullDoc(t, "debian-kaspersky"))
			} else {
				doc = fleettest.JSON(t, fleettest.Report(t, name, "h1", "host-1", t0))
			}
			got, err := decodeReport(context.Background(), doc, defaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			var want report.Report
			if err := json.Unmarshal(doc, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

func TestDecodeReportRefuses(t *testing.T) {
	valid := string(fleettest.JSON(t, fleettest.Report(t, "debian-kaspersky", "h1", "host-1", t0)))
	small := defaultLimits()
	small.evidence = 3
	few := defaultLimits()
	few.values = 20
	short := defaultLimits()
	short.str = 64
	firstState := regexp.MustCompile(`"state":"[a-z]+"`)
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, tt := range []struct {
		name    string
		doc     string
		lim     *decodeLimits
		kind    string // "syntax", "limit", "schema"
		wantMsg string
	}{
		// The hostile keys: accepted by encoding/json's folding.
		{"Report_ID", strings.Replace(valid, `"report_id"`, `"Report_ID"`, 1), nil, "schema", `Report_ID: unknown field: keys are case-sensitive (want "report_id")`},
		{"HOST", strings.Replace(valid, `"host"`, `"HOST"`, 1), nil, "schema", "HOST: unknown field"},
		{"PRODUCTS", strings.Replace(valid, `"products"`, `"PRODUCTS"`, 1), nil, "schema", "PRODUCTS: unknown field"},
		{"kelvin", strings.Replace(valid, `"kind"`, `"\u212aind"`, 1), nil, "schema", "unknown field"},
		{"shadowing key", strings.Replace(valid, `"report_id"`, `"Report_ID":"not-a-uuid-<b>","report_id"`, 1), nil, "schema", "Report_ID: unknown field"},
		{"unknown field", strings.Replace(valid, `{"schema_version"`, `{"padding":[1,2,3],"schema_version"`, 1), nil, "schema", "padding: unknown field"},
		{"key twice", strings.Replace(valid, `"compliant":false`, `"compliant":false,"compliant":true`, 1), nil, "schema", "compliant: key given twice"},
		{"enum case", strings.Replace(valid, `"os":"linux"`, `"os":"Linux"`, 1), nil, "schema", "host.os: value must be one of"},
		{"null", strings.Replace(valid, `"os":"linux"`, `"os":null`, 1), nil, "schema", "host.os"},
		{"state", firstState.ReplaceAllLiteralString(valid, `"state":"pwned"`), nil, "schema", "products[0].state"},
		{"deep nesting", strings.Replace(valid, `{"schema_version"`, `{"x":`+deep+`,"schema_version"`, 1), nil, "limit", "nested deeper than 16"},
		{"deep nesting after the report", valid + deep, nil, "syntax", "data after the report"},
		{"long string", strings.Replace(valid, `"hostname":"host-1"`, `"hostname":"`+strings.Repeat("h", 65)+`"`, 1), &short, "limit", "host.hostname: string longer than 64 bytes"},
		{"long array", strings.Replace(valid, `"evidence":[`, `"evidence":[{"source":"a","kind":"b","value":"","location":""},{"source":"a","kind":"b","value":"","location":""},{"source":"a","kind":"b","value":"","location":""},`, 1), &small, "limit", "products[0].evidence: more than 3 items"},
		{"many values", valid, &few, "limit", "more than 20 array items and tags in the report"},
		{"trailing data", valid + `{}`, nil, "syntax", "data after the report"},
		{"truncated", valid[:len(valid)/2], nil, "syntax", ""},
		{"not an object", `[]`, nil, "schema", "(root): got array, want object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lim := defaultLimits()
			if tt.lim != nil {
				lim = *tt.lim
			}
			_, err := decodeReport(context.Background(), []byte(tt.doc), lim)
			var (
				syn *syntaxError
				le  *limitError
				ve  *schema.ValidationError
			)
			ok := err != nil
			switch tt.kind {
			case "syntax":
				ok = errors.As(err, &syn)
			case "limit":
				ok = errors.As(err, &le)
			case "schema":
				ok = errors.As(err, &ve)
			}
			if !ok || err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("decodeReport = %v, want a %s error with %q", err, tt.kind, tt.wantMsg)
			}
		})
	}
}

// A gzip bomb's payload, 8 MiB of tiny evidence items, is refused after
// the first few problems, having read a sliver of it; so are 8 MiB of
// valid evidence items (the limit) and of broken enums (five problems).
func TestDecodeReportStopsEarly(t *testing.T) {
	valid := string(fleettest.JSON(t, fleettest.Report(t, "debian-kaspersky", "h1", "host-1", t0)))
	pad := func(item string) []byte {
		n := (8<<20 - len(valid)) / (len(item) + 1)
		return []byte(strings.Replace(valid, `"evidence":[`, `"evidence":[`+strings.Repeat(item+",", n), 1))
	}
	for _, tt := range []struct {
		name     string
		doc      []byte
		problems int
		wantMsg  string
	}{
		{"tiny items", pad(`{}`), 5, "required field is missing"},
		{"valid items", pad(`{"source":"a","kind":"b","value":"c","location":"d"}`), 0, "products[0].evidence: more than 1000 items"},
		{"bad enums", pad(`{"source":"a","kind":"b","value":"c","location":"d","state":"x"}`), 5, "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := decodeReport(context.Background(), tt.doc, defaultLimits())
			d := time.Since(start)
			var ve *schema.ValidationError
			switch {
			case err == nil || !strings.Contains(err.Error(), tt.wantMsg):
				t.Errorf("decodeReport = %v, want %q", err, tt.wantMsg)
			case tt.problems > 0 && (!errors.As(err, &ve) || len(ve.Problems) != tt.problems):
				t.Errorf("decodeReport = %v, want %d problems", err, tt.problems)
			}
			t.Logf("%d bytes refused in %v", len(tt.doc), d)
		})
	}
}

// Decoding stops when the request's context is done.
func TestDecodeReportCancelled(t *testing.T) {
	valid := string(fleettest.JSON(t, fleettest.Report(t, "debian-kaspersky", "h1", "host-1", t0)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := decodeReport(ctx, []byte(valid), defaultLimits()); !errors.Is(err, context.Canceled) {
		t.Errorf("decodeReport on a cancelled context = %v", err)
	}
	// Also in the middle: items of an unknown field are counted and
	// the context looked at every checkEvery of them.
	lim := defaultLimits()
	lim.values = 1 << 30
	lim.problems = 1 << 20
	doc := strings.Replace(valid, `"compliant"`, `"x":[`+strings.Repeat("1,", 10*checkEvery)+`1],"compliant"`, 1)
	if _, err := decodeReport(ctx, []byte(doc), lim); !errors.Is(err, context.Canceled) {
		t.Errorf("decodeReport on a cancelled context, long array = %v", err)
	}
}

// BenchmarkDecode compares the ingest path's decoding before (schema
// validation of a generic tree, then encoding/json) and now, on a
// typical report and on an 8 MiB gzip bomb payload.
func BenchmarkDecode(b *testing.B) {
	typical := fleettest.JSON(b, fleettest.Typical(b, "h1", t0))
	valid := string(fleettest.JSON(b, fleettest.Report(b, "debian-kaspersky", "h1", "host-1", t0)))
	bomb := []byte(strings.Replace(valid, `"evidence":[`, `"evidence":[`+strings.Repeat("{},", (8<<20-len(valid))/3), 1))
	for _, in := range []struct {
		name  string
		doc   []byte
		valid bool // the bomb's empty evidence items are rejected
	}{{"typical", typical, true}, {"bomb", bomb, false}} {
		b.Run(in.name+"/before", func(b *testing.B) {
			b.SetBytes(int64(len(in.doc)))
			for b.Loop() {
				if err := schema.Validate(in.doc); err == nil {
					var r report.Report
					if err := json.Unmarshal(in.doc, &r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(in.name+"/strict", func(b *testing.B) {
			b.SetBytes(int64(len(in.doc)))
			for b.Loop() {
				if _, err := decodeReport(context.Background(), in.doc, defaultLimits()); (err == nil) != in.valid {
					b.Fatalf("decodeReport = %v, want valid %v", err, in.valid)
				}
			}
		})
	}
}
