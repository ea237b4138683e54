// Package schema holds the JSON Schema of avscout's report and validates
// documents against it. It is apart from package report so that the agent,
// which only writes reports, does not carry the validator (whose start-up
// cost alone is ~16 ms); the collector and the tests use it.
package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"github.com/avscout/avscout/internal/text"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed report.schema.json
var schemaJSON []byte

// schemaURL is the $id of the embedded schema.
const schemaURL = "https://github.com/avscout/avscout/internal/report/schema/report.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of the report document.
// The caller owns the returned slice.
func Schema() []byte {
	return bytes.Clone(schemaJSON)
}

// compiledSchema compiles the embedded schema once; it never changes.
var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("parsing report schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // date-time is checked, not just annotated
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("loading report schema: %w", err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("compiling report schema: %w", err)
	}
	return sch, nil
})

// Validate checks that doc is a single JSON report that matches the schema
// returned by [Schema]. A document that does not match gets a
// [*ValidationError] naming each failing field; a document that is not JSON
// gets an error wrapping the decoder's.
func Validate(doc []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("invalid report: not a JSON document: %w", err)
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("invalid report: %w", err)
	}
	return &ValidationError{Problems: problems(ve, v)}
}

// ValidationError says why a document does not match the report schema.
type ValidationError struct {
	Problems []FieldError // at least one, in a stable order
}

// FieldError is one way a document fails the report schema.
type FieldError struct {
	// Path names the field, e.g. "products[0].state" or "report_id";
	// "(root)" is the document itself.
	Path    string
	Message string
}

func (e FieldError) String() string { return e.Path + ": " + e.Message }

const (
	// maxShownProblems bounds how many problems Error lists.
	maxShownProblems = 5
	// maxMessage bounds a problem's message, in runes.
	maxMessage = 200
)

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid report: ")
	for i, p := range e.Problems {
		if i == maxShownProblems {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// problems flattens a jsonschema error tree into one FieldError per failing
// leaf, with paths spelled against the document v.
func problems(root *jsonschema.ValidationError, v any) []FieldError {
	printer := message.NewPrinter(language.English)
	var out []FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		// A rule tying the verdict and compliant to products and sources
		// is told as what it means, not as the keyword that failed.
		if m := ruleLocation.FindStringSubmatch(e.SchemaURL); m != nil {
			if p, ok := ruleProblems[m[1]+"/"+m[2]]; ok {
				out = append(out, p)
				return
			}
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		path := fieldPath(v, e.InstanceLocation)
		if k, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range k.Missing {
				out = append(out, FieldError{Path: joinPath(path, m), Message: "required field is missing"})
			}
			return
		}
		// Messages may quote the document's values: bound their length.
		msg := text.Truncate(text.OneLine(e.ErrorKind.LocalizedString(printer)), maxMessage)
		out = append(out, FieldError{Path: orRoot(path), Message: msg})
	}
	walk(root)
	slices.SortStableFunc(out, func(a, b FieldError) int { return strings.Compare(a.Path, b.Path) })
	return slices.Compact(out)
}

// ruleLocation finds, in a failing keyword's schema location, the rule
// ($defs entry) and the property it constrains.
var ruleLocation = regexp.MustCompile(`#/\$defs/(compliantTrue|compliantFalseWithoutVerdict|verdict[A-Za-z]+)/properties/([a-z_]+)(?:/|$)`)

// ruleProblems says what each consistency rule of the schema means, by
// rule and property.
var ruleProblems = map[string]FieldError{
	"compliantTrue/products":                {"compliant", "is true, but a restricted product is active or installed"},
	"compliantFalseWithoutVerdict/products": {"compliant", "is false, but no restricted product is active or installed"},
	"verdictCompliant/compliant":            {"verdict", "is compliant, but compliant is false"},
	"verdictCompliant/sources":              {"verdict", "is compliant, but a source failed or timed out"},
	"verdictNonCompliant/compliant":         {"verdict", "is non_compliant, but compliant is true"},
	"verdictNonCompliant/products":          {"verdict", "is non_compliant, but no restricted product is active or installed"},
	"verdictIncomplete/compliant":           {"verdict", "is incomplete, but compliant is true"},
	"verdictIncomplete/products":            {"verdict", "is incomplete, but a restricted product is active or installed"},
	"verdictIncomplete/sources":             {"verdict", "is incomplete, but no source failed or timed out"},
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fieldPath spells a JSON pointer's tokens as a path like
// "products[0].evidence[2].kind", looking at v to tell array indexes from
// object keys.
func fieldPath(v any, tokens []string) string {
	path := ""
	for _, t := range tokens {
		if x, ok := v.([]any); ok {
			path += "[" + t + "]" // the validator's index: digits only
			v = nil
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(x) {
				v = x[i]
			}
			continue
		}
		path = joinPath(path, t)
		if x, ok := v.(map[string]any); ok {
			v = x[t]
		} else {
			v = nil
		}
	}
	return path
}

// joinPath appends the object key k to path: ".k", or `["k"]` when k is
// not a plain identifier.
func joinPath(path, k string) string {
	switch {
	case !plainKey.MatchString(k):
		return path + "[" + strconv.Quote(k) + "]"
	case path == "":
		return k
	default:
		return path + "." + k
	}
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}
