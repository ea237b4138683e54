package report

import (
	"encoding/json"
	"errors"
	"github.com/avscout/avscout/internal/report/enum"
	"github.com/avscout/avscout/internal/report/schema"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// validDoc returns the mixed fixture as generic JSON for tests to break.
func validDoc(t *testing.T) map[string]any {
	t.Helper()
	b, err := json.Marshal(mixedReport())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func field(m map[string]any, path ...any) map[string]any {
	var v any = m
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(map[string]any)
}

func TestValidateAcceptsFixtures(t *testing.T) {
	for name, r := range fixtures() {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(b); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestValidateRefusesUnknownFields: keys are case-sensitive and a key the
// schema does not name is refused, at every level (issue #14: a decoder
// matching keys regardless of case stored what the schema never saw).
// Fields may still be added without a version bump, collectors first.
func TestValidateRefusesUnknownFields(t *testing.T) {
	for _, tt := range []struct {
		name, path string
		edit       func(m map[string]any)
	}{
		{"root", `["future_field"]`, func(m map[string]any) { m["future_field"] = map[string]any{"x": 1} }},
		{"root_case", "Report_ID", func(m map[string]any) { m["Report_ID"] = "not-a-uuid" }},
		{"host", "host.domain", func(m map[string]any) { field(m, "host")["domain"] = "corp.example" }},
		{"host_case", "host.OS", func(m map[string]any) { field(m, "host")["OS"] = "plan9" }},
		{"product", "products[0].cpe", func(m map[string]any) { field(m, "products", 0)["cpe"] = "cpe:2.3:a:x" }},
		{"product_case", "products[0].State", func(m map[string]any) { field(m, "products", 0)["State"] = "pwned" }},
		{"evidence", "products[0].evidence[0].sha256", func(m map[string]any) { field(m, "products", 0, "evidence", 0)["sha256"] = "00" }},
		{"source", "sources[0].retries", func(m map[string]any) { field(m, "sources", 0)["retries"] = 2 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := validDoc(t)
			tt.edit(m)
			b, _ := json.Marshal(m)
			err := schema.Validate(b)
			var ve *schema.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), "additional properties") {
				t.Errorf("schema.Validate = %v, want the unknown field %s refused", err, tt.path)
			}
		})
	}
}

// Reports of agents older than the verdict must still be accepted: no
// verdict, and compliant true although a source failed (the old rule).
func TestValidateAcceptsOlderReports(t *testing.T) {
	r := incompleteReport()
	r.Verdict, r.Compliant = "", true
	for i := range r.Sources {
		r.Sources[i].Warnings = nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "verdict") || strings.Contains(string(b), "warnings") {
		t.Fatalf("an empty verdict or warnings list is written: %s", b)
	}
	if err := schema.Validate(b); err != nil {
		t.Error(err)
	}
	if got := VerdictOf(r); got != VerdictIncomplete {
		t.Errorf("derived verdict %q, want incomplete", got)
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(m map[string]any)
		wantPath string // the failing field named in the error
		wantMsg  string // part of that field's message
	}{
		{"missing_report_id", func(m map[string]any) { delete(m, "report_id") }, "report_id", "missing"},
		{"missing_sources", func(m map[string]any) { delete(m, "sources") }, "sources", "missing"},
		{"missing_product_vendor", func(m map[string]any) { delete(field(m, "products", 1), "vendor") }, "products[1].vendor", "missing"},
		{"missing_evidence_location", func(m map[string]any) { delete(field(m, "products", 0, "evidence", 2), "location") }, "products[0].evidence[2].location", "missing"},
		{"missing_agent_catalog_version", func(m map[string]any) { delete(field(m, "agent"), "catalog_version") }, "agent.catalog_version", "missing"},
		{"missing_source_error", func(m map[string]any) { delete(field(m, "sources", 3), "error") }, "sources[3].error", "missing"},
		{"wrong_enum_state", func(m map[string]any) { field(m, "products", 3)["state"] = "running" }, "products[3].state", "active"},
		{"wrong_enum_os", func(m map[string]any) { field(m, "host")["os"] = "freebsd" }, "host.os", "darwin"},
		{"wrong_enum_category", func(m map[string]any) { field(m, "products", 0)["category"] = "firewall" }, "products[0].category", "antivirus"},
		{"wrong_enum_confidence", func(m map[string]any) { field(m, "products", 0)["confidence"] = "certain" }, "products[0].confidence", "high"},
		{"wrong_enum_status", func(m map[string]any) { field(m, "sources", 0)["status"] = "failed" }, "sources[0].status", "unavailable"},
		{"wrong_type_duration", func(m map[string]any) { m["duration_ms"] = "12" }, "duration_ms", "integer"},
		{"wrong_type_fraction", func(m map[string]any) { field(m, "sources", 0)["items"] = 1.5 }, "sources[0].items", "integer"},
		{"negative_items", func(m map[string]any) { field(m, "sources", 0)["items"] = -1 }, "sources[0].items", "0"},
		{"wrong_type_restricted", func(m map[string]any) { field(m, "products", 3)["restricted"] = "yes" }, "products[3].restricted", "boolean"},
		{"wrong_type_evidence_value", func(m map[string]any) { field(m, "products", 0, "evidence", 0)["value"] = 7 }, "products[0].evidence[0].value", "string"},
		{"null_products", func(m map[string]any) { m["products"] = nil }, "products", "array"},
		{"wrong_type_tag", func(m map[string]any) { m["tags"] = map[string]any{"site.name": 3} }, `tags["site.name"]`, "string"},
		{"bad_uuid", func(m map[string]any) { m["report_id"] = "not-a-uuid" }, "report_id", "pattern"},
		{"bad_uuid_short", func(m map[string]any) { m["report_id"] = "3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8b9" }, "report_id", "pattern"},
		{"bad_date", func(m map[string]any) { m["generated_at"] = "22/11/2026 10:00" }, "generated_at", "date-time"},
		{"date_not_utc", func(m map[string]any) { m["generated_at"] = "2026-11-22T11:00:00+01:00" }, "generated_at", "Z$"},
		{"schema_version_2", func(m map[string]any) { m["schema_version"] = 2 }, "schema_version", "1"},
		{"empty_root", func(m map[string]any) { field(m, "host")["root"] = "" }, "host.root", "minLength"},
		{"restricted_without_policy", func(m map[string]any) { delete(field(m, "products", 0), "policy") }, "products[0].policy", "missing"},
		{"compliant_true_but_restricted_active", func(m map[string]any) { m["compliant"] = true }, "compliant", "restricted product is active or installed"},
		{"compliant_false_without_restricted", func(m map[string]any) { // a report of an older agent
			delete(m, "verdict")
			m["products"] = []any{}
		}, "compliant", "no restricted product"},
		{"wrong_enum_verdict", func(m map[string]any) { m["verdict"] = "unknown" }, "verdict", "incomplete"},
		{"non_compliant_without_restricted", func(m map[string]any) { m["products"] = []any{} }, "verdict", "is non_compliant, but no restricted product"},
		{"non_compliant_but_compliant", func(m map[string]any) { m["compliant"] = true }, "verdict", "is non_compliant, but compliant is true"},
		{"compliant_verdict_with_failed_source", func(m map[string]any) {
			m["verdict"], m["compliant"], m["products"] = "compliant", true, []any{}
		}, "verdict", "is compliant, but a source failed or timed out"},
		{"compliant_verdict_but_not_compliant", func(m map[string]any) {
			m["verdict"], m["compliant"], m["products"], m["sources"] = "compliant", false, []any{}, []any{}
		}, "verdict", "is compliant, but compliant is false"},
		{"incomplete_with_restricted", func(m map[string]any) { m["verdict"] = "incomplete" }, "verdict", "is incomplete, but a restricted product is active or installed"},
		{"incomplete_without_failed_source", func(m map[string]any) {
			m["verdict"], m["products"] = "incomplete", []any{}
			for _, s := range m["sources"].([]any) {
				s.(map[string]any)["status"] = "ok"
			}
		}, "verdict", "is incomplete, but no source failed or timed out"},
		{"incomplete_but_compliant", func(m map[string]any) {
			m["verdict"], m["compliant"], m["products"] = "incomplete", true, []any{}
		}, "verdict", "is incomplete, but compliant is true"},
		{"warnings_not_strings", func(m map[string]any) { field(m, "sources", 0)["warnings"] = []any{1} }, "sources[0].warnings[0]", "string"},
		{"everything_missing", func(m map[string]any) { clear(m) }, "agent", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validDoc(t)
			// Put the fixture in canonical order so that indexes are known.
			var r Report
			b, _ := json.Marshal(m)
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			r.Sort()
			b, _ = json.Marshal(r)
			m = nil
			_ = json.Unmarshal(b, &m)

			tt.mutate(m)
			doc, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			err = schema.Validate(doc)
			var ve *schema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *schema.ValidationError", err)
			}
			i := slices.IndexFunc(ve.Problems, func(p schema.FieldError) bool { return p.Path == tt.wantPath })
			if i < 0 {
				t.Fatalf("no problem at %s in %v", tt.wantPath, ve.Problems)
			}
			if !strings.Contains(ve.Problems[i].Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", ve.Problems[i].Message, tt.wantMsg)
			}
			if !strings.Contains(err.Error(), tt.wantPath+": ") {
				t.Errorf("Error() = %q does not name %s", err, tt.wantPath)
			}
		})
	}
}

func TestValidateConcurrent(t *testing.T) {
	good, _ := json.Marshal(mixedReport())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			doc := good
			if i%2 == 1 {
				doc = []byte(`{"schema_version": 2}`)
			}
			if err := schema.Validate(doc); (err == nil) != (i%2 == 0) {
				t.Errorf("goroutine %d: Validate = %v", i, err)
			}
		})
	}
	wg.Wait()
}

func TestValidateRejectsNonJSON(t *testing.T) {
	for _, doc := range []string{"", "{", "not json", `{"schema_version":1} trailing`, "[1,2]"} {
		if err := schema.Validate([]byte(doc)); err == nil {
			t.Errorf("schema.Validate(%q) = nil", doc)
		}
	}
	err := schema.Validate([]byte("[]"))
	var ve *schema.ValidationError
	if !errors.As(err, &ve) || ve.Problems[0].Path != "(root)" {
		t.Errorf("schema.Validate([]) = %v, want a problem at (root)", err)
	}
}

func TestValidationErrorListsAtMostFive(t *testing.T) {
	err := schema.Validate([]byte(`{}`))
	var ve *schema.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 9 {
		t.Fatalf("schema.Validate({}) = %v, want 9 missing fields", err)
	}
	if !strings.HasSuffix(err.Error(), "; and 4 more") {
		t.Errorf("Error() = %q", err)
	}
}

func TestSchemaIsACopy(t *testing.T) {
	s := schema.Schema()
	if !json.Valid(s) {
		t.Fatal("schema.Schema() is not JSON")
	}
	s[0] = 'X'
	if schema.Schema()[0] != '{' {
		t.Error("schema.Schema() returned the embedded bytes")
	}
}

// TestSchemaCoversTypes checks that the schema lists every JSON field of
// the Go types, and requires exactly those not marked omitempty.
func TestSchemaCoversTypes(t *testing.T) {
	var sch struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
		Defs       map[string]struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema.Schema(), &sch); err != nil {
		t.Fatal(err)
	}
	check := func(name string, typ reflect.Type, props map[string]any, required []string) {
		var wantReq []string
		for f := range typ.Fields() {
			tag := f.Tag.Get("json")
			key, opts, _ := strings.Cut(tag, ",")
			if _, ok := props[key]; !ok {
				t.Errorf("%s: schema lacks property %q", name, key)
			}
			if opts != "omitempty" {
				wantReq = append(wantReq, key)
			}
		}
		slices.Sort(wantReq)
		got := slices.Sorted(slices.Values(required))
		if !slices.Equal(got, wantReq) {
			t.Errorf("%s: schema requires %v, want %v", name, got, wantReq)
		}
		if len(props) != typ.NumField() {
			t.Errorf("%s: schema has %d properties, Go type %d fields", name, len(props), typ.NumField())
		}
	}
	check("report", reflect.TypeFor[Report](), sch.Properties, sch.Required)
	for def, typ := range map[string]reflect.Type{
		"agent":    reflect.TypeFor[Agent](),
		"host":     reflect.TypeFor[Host](),
		"product":  reflect.TypeFor[Product](),
		"policy":   reflect.TypeFor[Policy](),
		"evidence": reflect.TypeFor[Evidence](),
		"source":   reflect.TypeFor[Source](),
	} {
		d := sch.Defs[def]
		check(def, typ, d.Properties, d.Required)
	}
}

// TestSchemaEnums checks the schema's enums against the Go constants.
func TestSchemaEnums(t *testing.T) {
	var sch struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
		Defs map[string]struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema.Schema(), &sch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		def, prop string
		want      []string
	}{
		{"host", "os", []string{"linux", "windows", "darwin"}},
		{"product", "state", enum.States()},
		{"product", "confidence", []string{ConfidenceHigh, ConfidenceMedium, ConfidenceLow}},
		{"product", "category", enum.Categories()},
		{"source", "status", enum.Statuses()},
		{"failedSource", "status", []string{StatusError, StatusTimeout}},
	}
	if got, want := sch.Properties["verdict"].Enum, enum.Verdicts(); !slices.Equal(got, want) {
		t.Errorf("verdict enum = %v, want %v", got, want)
	}
	for _, tt := range tests {
		t.Run(tt.def+"_"+tt.prop, func(t *testing.T) {
			if got := sch.Defs[tt.def].Properties[tt.prop].Enum; !slices.Equal(got, tt.want) {
				t.Errorf("enum = %v, want %v", got, tt.want)
			}
		})
	}
}
