package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
	"github.com/avscout/avscout/internal/text"
)

// Limits of one report, checked while it is decoded: a report over one is
// refused as soon as the decoder reaches the excess, before anything else
// is built. A real scan stays far below each (a few dozen products, at
// most about twenty warnings per source).
const (
	limitProducts = store.MaxProducts // products of a report
	limitEvidence = 1000              // evidence items of one product
	limitExplain  = 1000              // explain lines of one product
	limitSources  = 200               // sources of a report
	limitWarnings = 100               // warnings of one source
	limitDropped  = 1000              // dropped items of a report
	limitTags     = store.MaxTags     // tags of a report
	limitValues   = 20000             // array items and tags in the whole report
	limitString   = 64 << 10          // bytes of one string as sent, escapes included
	limitDepth    = 16                // nesting of a value the decoder skips
	limitProblems = 5                 // problems reported before decoding stops
	checkEvery    = 1024              // values between two looks at the request's context
)

// decodeLimits bound what [decodeReport] accepts; [defaultLimits] are the
// collector's.
type decodeLimits struct {
	products, evidence, explain, sources, warnings, dropped, tags int
	values, str, depth, problems                                  int
}

func defaultLimits() decodeLimits {
	return decodeLimits{
		products: limitProducts, evidence: limitEvidence, explain: limitExplain, sources: limitSources,
		warnings: limitWarnings, dropped: limitDropped, tags: limitTags,
		values: limitValues, str: limitString, depth: limitDepth, problems: limitProblems,
	}
}

// syntaxError is a body that is not one JSON document.
type syntaxError struct {
	offset int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("not a JSON document: %s at byte %d", e.msg, e.offset)
}

// limitError is a report over one of the decoder's limits.
type limitError struct {
	path string
	msg  string
}

func (e *limitError) Error() string { return "report over a limit: " + e.path + ": " + e.msg }

// errStop ends decoding once enough problems are known.
var errStop = errors.New("too many problems")

// decodeReport decodes data, one JSON report, exactly as the report
// schema ([schema.Schema]) reads it: keys match case-sensitively, a key
// the schema does not name (or a key given twice) is refused, every
// required field must be present, every enum, pattern, minimum and
// consistency rule holds. Its cost is linear in len(data) and its
// allocations bounded by lim: it stops at the first limit exceeded, at
// the first syntax error, or after lim.problems problems, and gives up
// when ctx is done.
//
// Its errors: a [*syntaxError] (not JSON), a [*limitError], a
// [*schema.ValidationError] (JSON, but not a valid report) or ctx's error.
func decodeReport(ctx context.Context, data []byte, lim decodeLimits) (*report.Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &decoder{ctx: ctx, data: data, lim: lim}
	r := new(report.Report)
	err := d.document(r)
	if err == nil && len(d.problems) == 0 {
		d.rules(r)
	}
	switch {
	case err != nil && !errors.Is(err, errStop):
		return nil, err
	case len(d.problems) > 0:
		return nil, &schema.ValidationError{Problems: d.problems}
	}
	return r, nil
}

// decoder reads one report from data.
type decoder struct {
	ctx      context.Context
	data     []byte
	pos      int
	lim      decodeLimits
	values   int // array items and tags so far
	path     []pathPart
	problems []schema.FieldError
}

// pathPart is one step of the path to the value being decoded: an object
// key or (key == "") an array index.
type pathPart struct {
	key string
	idx int
}

func (d *decoder) push(key string) { d.path = append(d.path, pathPart{key: key}) }
func (d *decoder) pushIndex(i int) { d.path = append(d.path, pathPart{idx: i}) }
func (d *decoder) pop()            { d.path = d.path[:len(d.path)-1] }

// pathString spells the current path as schema.ValidationError does:
// "products[0].state", "(root)".
func (d *decoder) pathString() string {
	var b strings.Builder
	for _, p := range d.path {
		switch {
		case p.key == "":
			fmt.Fprintf(&b, "[%d]", p.idx)
		case !plainKey(p.key):
			b.WriteString("[" + strconv.Quote(text.Clip(p.key, 40)) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p.key)
		}
	}
	if b.Len() == 0 {
		return "(root)"
	}
	return b.String()
}

func plainKey(k string) bool {
	for i, c := range []byte(k) {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return k != ""
}

// problem records that the current value fails the schema; once enough
// are known it returns errStop.
func (d *decoder) problem(format string, args ...any) error {
	return d.problemAt(d.pathString(), format, args...)
}

func (d *decoder) problemAt(path, format string, args ...any) error {
	d.problems = append(d.problems, schema.FieldError{Path: path, Message: text.Clip(fmt.Sprintf(format, args...), 200)})
	if len(d.problems) >= d.lim.problems {
		return errStop
	}
	return nil
}

func (d *decoder) syntax(msg string) error { return &syntaxError{offset: d.pos, msg: msg} }

func (d *decoder) over(format string, args ...any) error {
	return &limitError{path: d.pathString(), msg: fmt.Sprintf(format, args...)}
}

// count counts one more array item or tag, and now and then looks
// whether the client is still there.
func (d *decoder) count() error {
	d.values++
	if d.values > d.lim.values {
		return d.over("more than %d array items and tags in the report", d.lim.values)
	}
	if d.values%checkEvery == 0 {
		return d.ctx.Err()
	}
	return nil
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.pos == len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// kindOf names the JSON type a value starting with c has.
func kindOf(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// mismatch records that the next value is not of the type want, and
// skips it.
func (d *decoder) mismatch(want string) error {
	if err := d.problem("got %s, want %s", kindOf(d.peek()), want); err != nil {
		return err
	}
	return d.skip(0)
}

func (d *decoder) document(r *report.Report) error {
	if d.peek() == 0 {
		return d.syntax("empty body")
	}
	if err := d.reportObject(r); err != nil {
		return err
	}
	if d.peek() != 0 {
		return d.syntax("data after the report")
	}
	return nil
}

// object reads an object whose keys must be among keys (in order: their
// index is the bit of seen), calling field with each key's index and
// the decoder at its value. required are the bits that must be seen.
// A value that is not an object is a problem, and skipped.
func (d *decoder) object(keys []string, required uint64, field func(i int) error) error {
	var seen uint64
	err := d.members(nil, func(key string) error {
		i := indexOf(keys, key)
		d.push(key)
		defer d.pop()
		switch {
		case i < 0:
			return d.unknownKey(keys, key)
		case seen&(1<<i) != 0:
			return d.twice()
		}
		seen |= 1 << i
		return field(i)
	})
	if err != nil {
		return err
	}
	if missing := required &^ seen; missing != 0 {
		for i, k := range keys {
			if missing&(1<<i) != 0 {
				d.push(k)
				err := d.problem("required field is missing")
				d.pop()
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return -1
}

// members reads an object (the decoder at its opening brace), calling
// before, when not nil, ahead of each member's key (for limits) and
// member with the key, the decoder at its value.
func (d *decoder) members(before func() error, member func(key string) error) error {
	if d.peek() != '{' {
		return d.mismatch("object")
	}
	d.pos++
	for first := true; ; first = false {
		c := d.peek()
		if c == '}' {
			d.pos++
			return nil
		}
		if !first {
			if c != ',' {
				return d.syntax("want , or } in object")
			}
			d.pos++
			c = d.peek()
		}
		if c != '"' {
			return d.syntax("want a key in object")
		}
		if before != nil {
			if err := before(); err != nil {
				return err
			}
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.syntax("want : after key")
		}
		d.pos++
		if err := member(key); err != nil {
			return err
		}
	}
}

// twice records a key given a second time in its object, and skips its
// value.
func (d *decoder) twice() error {
	if err := d.problem("key given twice"); err != nil {
		return err
	}
	return d.skip(0)
}

// unknownKey records a key the schema does not name, saying so plainly
// when it differs from a known one only in case, and skips its value.
func (d *decoder) unknownKey(keys []string, key string) error {
	var err error
	if i := indexOfFold(keys, key); i >= 0 {
		err = d.problem("unknown field: keys are case-sensitive (want %q)", keys[i])
	} else {
		err = d.problem("unknown field")
	}
	if err != nil {
		return err
	}
	return d.skip(0)
}

func indexOfFold(keys []string, k string) int {
	for i, x := range keys {
		if strings.EqualFold(x, k) {
			return i
		}
	}
	return -1
}

// array reads an array of at most max items, calling item with each
// index and the decoder at the item. A value that is not an array is a
// problem, and skipped.
func (d *decoder) array(max int, item func(i int) error) error {
	if d.peek() != '[' {
		return d.mismatch("array")
	}
	d.pos++
	for i := 0; ; i++ {
		c := d.peek()
		if c == ']' {
			d.pos++
			return nil
		}
		if i > 0 {
			if c != ',' {
				return d.syntax("want , or ] in array")
			}
			d.pos++
		}
		if i >= max {
			return d.over("more than %d items", max)
		}
		if err := d.count(); err != nil {
			return err
		}
		d.pushIndex(i)
		err := item(i)
		d.pop()
		if err != nil {
			return err
		}
	}
}

// str reads a string (the decoder at its opening quote): escapes
// decoded, invalid UTF-8 replaced by U+FFFD as encoding/json does.
func (d *decoder) str() (string, error) {
	start := d.pos + 1
	i := start
	simple := true
	for {
		if i-start > d.lim.str {
			return "", d.over("string longer than %d bytes", d.lim.str)
		}
		if i >= len(d.data) {
			d.pos = i
			return "", d.syntax("unterminated string")
		}
		c := d.data[i]
		switch {
		case c == '"':
			raw := d.data[start:i]
			d.pos = i + 1
			if simple && utf8.Valid(raw) {
				return string(raw), nil
			}
			return d.unescape(raw)
		case c == '\\':
			simple = false
			i += 2
		case c < 0x20:
			d.pos = i
			return "", d.syntax("control character in string")
		default:
			i++
		}
	}
}

// unescape decodes the inside of a string with escapes or invalid UTF-8.
func (d *decoder) unescape(raw []byte) (string, error) {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			r, n := utf8.DecodeRune(raw[i:])
			b = utf8.AppendRune(b, r) // invalid bytes become U+FFFD
			i += n
			continue
		}
		if i+1 >= len(raw) {
			return "", d.syntax("bad escape in string")
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				return "", d.syntax("bad \\u escape in string")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(raw[min(i+2, len(raw)):]); ok && i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return "", d.syntax("bad escape in string")
		}
		i += 2
	}
	return string(b), nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number's text, checking its grammar.
func (d *decoder) number() (string, error) {
	start := d.pos
	p := d.pos
	digits := func() int {
		n := 0
		for p < len(d.data) && '0' <= d.data[p] && d.data[p] <= '9' {
			p++
			n++
		}
		return n
	}
	if p < len(d.data) && d.data[p] == '-' {
		p++
	}
	if p < len(d.data) && d.data[p] == '0' {
		p++
	} else if digits() == 0 {
		d.pos = p
		return "", d.syntax("bad number")
	}
	if p < len(d.data) && d.data[p] == '.' {
		p++
		if digits() == 0 {
			d.pos = p
			return "", d.syntax("bad number")
		}
	}
	if p < len(d.data) && (d.data[p] == 'e' || d.data[p] == 'E') {
		p++
		if p < len(d.data) && (d.data[p] == '+' || d.data[p] == '-') {
			p++
		}
		if digits() == 0 {
			d.pos = p
			return "", d.syntax("bad number")
		}
	}
	if p-start > 64 {
		d.pos = start
		return "", d.over("number longer than 64 bytes")
	}
	d.pos = p
	return string(d.data[start:p]), nil
}

func (d *decoder) literal(word string) error {
	if !strings.HasPrefix(string(d.data[d.pos:min(len(d.data), d.pos+len(word))]), word) {
		return d.syntax("bad literal")
	}
	d.pos += len(word)
	return nil
}

// skip reads over one value of any type, at nesting depth.
func (d *decoder) skip(depth int) error {
	if depth > d.lim.depth {
		return d.over("nested deeper than %d", d.lim.depth)
	}
	switch d.peek() {
	case '{':
		return d.members(d.count, func(string) error { return d.skip(depth + 1) })
	case '[':
		return d.array(math.MaxInt, func(int) error { return d.skip(depth + 1) })
	case '"':
		_, err := d.str()
		return err
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	case 0:
		return d.syntax("unexpected end of body")
	default:
		_, err := d.number()
		return err
	}
}

// dateValue reads a date the way the schema's "date" pattern takes it:
// YYYY-MM-DD with a month 01–12 and a day 01–31.
func (d *decoder) dateValue(dst *string) error {
	if err := d.stringValue(dst, 0); err != nil {
		return err
	}
	if !isDate(*dst) {
		*dst = ""
		return d.problem("does not match the date pattern YYYY-MM-DD")
	}
	return nil
}

// isDate reports whether s is YYYY-MM-DD, month 01–12, day 01–31.
func isDate(s string) bool {
	if len(s) != len(time.DateOnly) || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, c := range []byte(s) {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	month, day := s[5:7], s[8:10]
	return month >= "01" && month <= "12" && day >= "01" && day <= "31"
}

// stringValue reads a string of at least minLen characters into *dst.
func (d *decoder) stringValue(dst *string, minLen int) error {
	if d.peek() != '"' {
		return d.mismatch("string")
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*dst = s
	if utf8.RuneCountInString(s) < minLen {
		return d.problem("length must be >= %d, but got %d", minLen, utf8.RuneCountInString(s))
	}
	return nil
}

// enumValue reads a string that must be one of values.
func (d *decoder) enumValue(dst *string, values ...string) error {
	if d.peek() != '"' {
		if err := d.problem("value must be one of %s", quoteList(values)); err != nil {
			return err
		}
		return d.skip(0)
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*dst = s
	for _, v := range values {
		if s == v {
			return nil
		}
	}
	return d.problem("value must be one of %s", quoteList(values))
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func (d *decoder) boolValue(dst *bool) error {
	switch d.peek() {
	case 't':
		*dst = true
		return d.literal("true")
	case 'f':
		*dst = false
		return d.literal("false")
	}
	return d.mismatch("boolean")
}

// intValue reads an integer (a number with no fractional part, as JSON
// Schema counts them) of at least 0.
func (d *decoder) intValue(dst *int64) error {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		return d.mismatch("integer")
	}
	text, err := d.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		switch {
		case ferr != nil && !errors.Is(ferr, strconv.ErrRange), f != math.Trunc(f):
			return d.problem("got number, want integer")
		case math.Abs(f) >= 1<<53:
			return d.problem("integer out of range")
		}
		n = int64(f)
	}
	*dst = n
	if n < 0 {
		return d.problem("must be >= 0, but got %d", n)
	}
	return nil
}

// Keys of each object, in the order of the bits of [decoder.object].
var (
	reportKeys = []string{"schema_version", "report_id", "generated_at", "duration_ms", "agent", "host",
		"verdict", "compliant", "products", "sources", "tags", "dropped"}
	agentKeys    = []string{"name", "version", "catalog_version"}
	hostKeys     = []string{"id", "hostname", "os", "os_version", "arch", "root"}
	productKeys  = []string{"id", "vendor", "name", "version", "category", "state", "restricted", "policy", "white_label", "technology", "confidence", "evidence", "explain", "definitions_date"}
	policyKeys   = []string{"rule", "reason", "updates_ended"}
	evidenceKeys = []string{"source", "kind", "value", "location", "definitions_date", "uninstall_command", "quiet_uninstall_command"}
	sourceKeys   = []string{"name", "status", "items", "duration_ms", "error", "warnings"}
	droppedKeys  = []string{"evidence", "reason"}
)

// bits returns the mask of the first n keys but those in except.
func bits(n int, except ...int) uint64 {
	m := uint64(1)<<n - 1
	for _, e := range except {
		m &^= 1 << e
	}
	return m
}

func (d *decoder) reportObject(r *report.Report) error {
	return d.object(reportKeys, bits(10, 6), func(i int) error {
		switch i {
		case 0:
			return d.schemaVersion(r)
		case 1:
			if d.peek() != '"' {
				return d.mismatch("string")
			}
			if err := d.stringValue(&r.ReportID, 0); err != nil {
				return err
			}
			if !text.IsUUID(r.ReportID) {
				return d.problem("%q does not match the UUID pattern", text.Clip(r.ReportID, 64))
			}
			return nil
		case 2:
			if d.peek() != '"' {
				return d.mismatch("string")
			}
			var s string
			if err := d.stringValue(&s, 0); err != nil {
				return err
			}
			if err := r.GeneratedAt.UnmarshalText([]byte(s)); err != nil || !strings.HasSuffix(s, "Z") {
				return d.problem("%q is not an RFC 3339 date-time in UTC (…Z)", text.Clip(s, 64))
			}
			return nil
		case 3:
			return d.intValue(&r.DurationMS)
		case 4:
			return d.object(agentKeys, bits(3), func(i int) error {
				switch i {
				case 0:
					return d.stringValue(&r.Agent.Name, 1)
				case 1:
					return d.stringValue(&r.Agent.Version, 0)
				default:
					return d.stringValue(&r.Agent.CatalogVersion, 0)
				}
			})
		case 5:
			h := &r.Host
			return d.object(hostKeys, bits(6), func(i int) error {
				switch i {
				case 0:
					return d.stringValue(&h.ID, 0)
				case 1:
					return d.stringValue(&h.Hostname, 0)
				case 2:
					return d.enumValue(&h.OS, "linux", "windows", "darwin")
				case 3:
					return d.stringValue(&h.OSVersion, 0)
				case 4:
					return d.stringValue(&h.Arch, 0)
				default:
					return d.stringValue(&h.Root, 1)
				}
			})
		case 6:
			return d.enumValue(&r.Verdict, report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete)
		case 7:
			return d.boolValue(&r.Compliant)
		case 8:
			r.Products = []report.Product{}
			return d.array(d.lim.products, func(int) error {
				r.Products = append(r.Products, report.Product{})
				return d.product(&r.Products[len(r.Products)-1])
			})
		case 9:
			r.Sources = []report.Source{}
			return d.array(d.lim.sources, func(int) error {
				r.Sources = append(r.Sources, report.Source{})
				return d.source(&r.Sources[len(r.Sources)-1])
			})
		case 10:
			return d.tags(r)
		default:
			return d.array(d.lim.dropped, func(int) error {
				r.Dropped = append(r.Dropped, report.Dropped{})
				x := &r.Dropped[len(r.Dropped)-1]
				return d.object(droppedKeys, bits(2), func(i int) error {
					if i == 0 {
						return d.evidence(&x.Evidence)
					}
					return d.stringValue(&x.Reason, 0)
				})
			})
		}
	})
}

// schemaVersion reads schema_version, which must be 1 (or 1.0: JSON
// Schema compares numbers by value).
func (d *decoder) schemaVersion(r *report.Report) error {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		if err := d.problem("value must be %d", report.SchemaVersion); err != nil {
			return err
		}
		return d.skip(0)
	}
	text, err := d.number()
	if err != nil {
		return err
	}
	if f, err := strconv.ParseFloat(text, 64); err != nil || f != report.SchemaVersion {
		return d.problem("value must be %d", report.SchemaVersion)
	}
	r.SchemaVersion = report.SchemaVersion
	return nil
}

func (d *decoder) tags(r *report.Report) error {
	r.Tags = map[string]string{}
	limit := func() error {
		if len(r.Tags) >= d.lim.tags {
			return d.over("more than %d tags", d.lim.tags)
		}
		return d.count()
	}
	return d.members(limit, func(k string) error {
		d.push(k)
		defer d.pop()
		if _, dup := r.Tags[k]; dup {
			return d.twice()
		}
		var v string
		if err := d.stringValue(&v, 0); err != nil {
			return err
		}
		r.Tags[k] = v
		return nil
	})
}

const (
	pPolicy = 7
	pTech   = 9
	pExpl   = 12
	pDefs   = 13
)

func (d *decoder) product(p *report.Product) error {
	hasPolicy := false
	err := d.object(productKeys, bits(len(productKeys), pPolicy, pTech, pExpl, pDefs), func(i int) error {
		switch i {
		case 0:
			return d.stringValue(&p.ID, 1)
		case 1:
			return d.stringValue(&p.Vendor, 1)
		case 2:
			return d.stringValue(&p.Name, 1)
		case 3:
			return d.stringValue(&p.Version, 0)
		case 4:
			return d.enumValue(&p.Category, report.CategoryAntivirus, report.CategoryEDR, report.CategoryManagementAgent,
				report.CategoryVPN, report.CategoryPasswordManager, report.CategoryParentalControl,
				report.CategorySecuritySuite, report.CategoryScanEngine, report.CategoryOther)
		case 5:
			return d.enumValue(&p.State, report.StateActive, report.StateInstalled, report.StateLeftover)
		case 6:
			return d.boolValue(&p.Restricted)
		case pPolicy:
			hasPolicy = true
			p.Policy = new(report.Policy)
			return d.object(policyKeys, bits(2), func(i int) error {
				switch i {
				case 0:
					return d.stringValue(&p.Policy.Rule, 1)
				case 1:
					return d.stringValue(&p.Policy.Reason, 0)
				default:
					return d.dateValue(&p.Policy.UpdatesEnded)
				}
			})
		case 8:
			return d.boolValue(&p.WhiteLabel)
		case pTech:
			return d.stringValue(&p.Technology, 0)
		case 10:
			return d.enumValue(&p.Confidence, report.ConfidenceHigh, report.ConfidenceMedium, report.ConfidenceLow)
		case 11:
			p.Evidence = []report.Evidence{}
			return d.array(d.lim.evidence, func(int) error {
				p.Evidence = append(p.Evidence, report.Evidence{})
				return d.evidence(&p.Evidence[len(p.Evidence)-1])
			})
		case pExpl:
			return d.array(d.lim.explain, func(int) error {
				p.Explain = append(p.Explain, "")
				return d.stringValue(&p.Explain[len(p.Explain)-1], 0)
			})
		default:
			return d.dateValue(&p.DefinitionsDate)
		}
	})
	if err == nil && p.Restricted && !hasPolicy {
		d.push("policy")
		err = d.problem("required field is missing")
		d.pop()
	}
	return err
}

func (d *decoder) evidence(e *report.Evidence) error {
	return d.object(evidenceKeys, bits(4), func(i int) error {
		switch i {
		case 0:
			return d.stringValue(&e.Source, 1)
		case 1:
			return d.stringValue(&e.Kind, 1)
		case 2:
			return d.stringValue(&e.Value, 0)
		case 3:
			return d.stringValue(&e.Location, 0)
		case 4:
			return d.dateValue(&e.DefinitionsDate)
		case 5:
			return d.stringValue(&e.UninstallCommand, 1)
		default:
			return d.stringValue(&e.QuietUninstallCommand, 1)
		}
	})
}

func (d *decoder) source(s *report.Source) error {
	return d.object(sourceKeys, bits(5), func(i int) error {
		switch i {
		case 0:
			return d.stringValue(&s.Name, 1)
		case 1:
			return d.enumValue(&s.Status, report.StatusOK, report.StatusError, report.StatusUnavailable, report.StatusTimeout)
		case 2:
			var n int64
			err := d.intValue(&n)
			s.Items = int(min(n, math.MaxInt32))
			return err
		case 3:
			return d.intValue(&s.DurationMS)
		case 4:
			return d.stringValue(&s.Error, 0)
		default:
			return d.array(d.lim.warnings, func(int) error {
				s.Warnings = append(s.Warnings, "")
				return d.stringValue(&s.Warnings[len(s.Warnings)-1], 0)
			})
		}
	})
}

// rules checks the schema's rules tying compliant and the verdict to the
// products and sources, on a report otherwise valid; the messages are
// the schema package's.
func (d *decoder) rules(r *report.Report) {
	inUse := false
	for _, p := range r.Products {
		inUse = inUse || p.Restricted && (p.State == report.StateActive || p.State == report.StateInstalled)
	}
	failed := false
	for _, s := range r.Sources {
		failed = failed || report.Failed(s)
	}
	check := func(bad bool, path, msg string) {
		if bad {
			_ = d.problemAt(path, "%s", msg)
		}
	}
	check(r.Compliant && inUse, "compliant", "is true, but a restricted product is active or installed")
	check(!r.Compliant && r.Verdict == "" && !inUse, "compliant", "is false, but no restricted product is active or installed")
	switch r.Verdict {
	case report.VerdictCompliant:
		check(!r.Compliant, "verdict", "is compliant, but compliant is false")
		check(failed, "verdict", "is compliant, but a source failed or timed out")
	case report.VerdictNonCompliant:
		check(r.Compliant, "verdict", "is non_compliant, but compliant is true")
		check(!inUse, "verdict", "is non_compliant, but no restricted product is active or installed")
	case report.VerdictIncomplete:
		check(r.Compliant, "verdict", "is incomplete, but compliant is true")
		check(inUse, "verdict", "is incomplete, but a restricted product is active or installed")
		check(!failed, "verdict", "is incomplete, but no source failed or timed out")
	}
}
