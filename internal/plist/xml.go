package plist

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/avscout/avscout/internal/text"
)

// maxQuoted bounds input quoted in an error, in bytes.
const maxQuoted = 40

// xmlDecoder reads an XML property list token by token. encoding/xml
// expands only the five predefined entities and character references, so
// no entity can grow the input; nesting is bounded by the budget's depth.
type xmlDecoder struct {
	d *xml.Decoder
	budget
}

func decodeXML(b []byte, lim Limits) (any, error) {
	utf16In := bytes.HasPrefix(b, []byte{0xff, 0xfe}) || bytes.HasPrefix(b, []byte{0xfe, 0xff})
	if utf16In {
		b = fromUTF16(b)
	}
	x := &xmlDecoder{d: xml.NewDecoder(bytes.NewReader(b)), budget: budget{form: "XML", lim: lim}}
	x.d.Strict = true
	if utf16In {
		// The text is UTF-8 now, whatever its declaration still says.
		x.d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	}
	start, err := x.start()
	if err != nil {
		return nil, err
	}
	if start.Name.Local == "plist" {
		if start, err = x.start(); err != nil {
			return nil, err
		}
	}
	return x.value(start, 1)
}

// fromUTF16 turns UTF-16 text with a byte-order mark into UTF-8.
func fromUTF16(b []byte) []byte {
	big := b[0] == 0xfe
	b = b[2:]
	u := make([]uint16, len(b)/2)
	for i := range u {
		if big {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return []byte(string(utf16.Decode(u)))
}

// token returns the next token that matters: comments, processing
// instructions, the doctype and blank text are skipped.
func (x *xmlDecoder) token() (xml.Token, error) {
	for {
		t, err := x.d.Token()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: XML ends early (line %d)", ErrMalformed, x.line())
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%w: XML: %s (line %d)", ErrMalformed, se.Msg, se.Line)
			}
			return nil, fmt.Errorf("%w: XML: %w", ErrMalformed, err)
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst, xml.Directive:
			continue
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue
			}
		}
		return t, nil
	}
}

func (x *xmlDecoder) line() int {
	l, _ := x.d.InputPos()
	return l
}

// start returns the next element's start tag; anything else is an error.
func (x *xmlDecoder) start() (xml.StartElement, error) {
	t, err := x.token()
	if err != nil {
		return xml.StartElement{}, err
	}
	s, ok := t.(xml.StartElement)
	if !ok {
		return xml.StartElement{}, fmt.Errorf("%w: XML: unexpected %s, want an element (line %d)", ErrMalformed, describe(t), x.line())
	}
	return s, nil
}

func describe(t xml.Token) string {
	switch t := t.(type) {
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	case xml.CharData:
		s := strings.TrimSpace(string(t))
		if len(s) > 20 {
			s = s[:20] + "…"
		}
		return fmt.Sprintf("text %q", s)
	}
	return fmt.Sprintf("%T", t)
}

// text reads the character data of an element up to its end tag.
func (x *xmlDecoder) text(name string) (string, error) {
	var b strings.Builder
	for {
		t, err := x.d.Token()
		if err != nil {
			return "", fmt.Errorf("%w: XML <%s>: %w (line %d)", ErrMalformed, name, err, x.line())
		}
		switch t := t.(type) {
		case xml.CharData:
			if err := x.data(len(t)); err != nil {
				return "", err
			}
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", fmt.Errorf("%w: XML: <%s> inside <%s> (line %d)", ErrMalformed, t.Name.Local, name, x.line())
		}
	}
}

// end expects the end tag of an empty element (<true/>).
func (x *xmlDecoder) end(name string) error {
	t, err := x.token()
	if err != nil {
		return err
	}
	if _, ok := t.(xml.EndElement); !ok {
		return fmt.Errorf("%w: XML: <%s> is not empty (line %d)", ErrMalformed, name, x.line())
	}
	return nil
}

// value decodes the element that start opens, at nesting level depth.
func (x *xmlDecoder) value(start xml.StartElement, depth int) (any, error) {
	if err := x.budget.value(); err != nil {
		return nil, err
	}
	name := start.Name.Local
	switch name {
	case "dict":
		if err := x.depth(depth); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for {
			t, err := x.token()
			if err != nil {
				return nil, err
			}
			if _, ok := t.(xml.EndElement); ok {
				return m, nil
			}
			k, ok := t.(xml.StartElement)
			if !ok || k.Name.Local != "key" {
				return nil, fmt.Errorf("%w: XML: %s in <dict>, want <key> (line %d)", ErrMalformed, describeStart(t), x.line())
			}
			key, err := x.text("key")
			if err != nil {
				return nil, err
			}
			vs, err := x.start()
			if err != nil {
				return nil, err
			}
			if m[key], err = x.value(vs, depth+1); err != nil {
				return nil, err
			}
		}
	case "array":
		if err := x.depth(depth); err != nil {
			return nil, err
		}
		arr := []any{}
		for {
			t, err := x.token()
			if err != nil {
				return nil, err
			}
			switch t := t.(type) {
			case xml.EndElement:
				return arr, nil
			case xml.StartElement:
				v, err := x.value(t, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			default:
				return nil, fmt.Errorf("%w: XML: %s in <array> (line %d)", ErrMalformed, describe(t), x.line())
			}
		}
	case "true", "false":
		if err := x.end(name); err != nil {
			return nil, err
		}
		return name == "true", nil
	case "string", "key":
		return x.text(name)
	case "integer":
		s, err := x.text(name)
		if err != nil {
			return nil, err
		}
		return parseInteger(strings.TrimSpace(s), x.line())
	case "real":
		s, err := x.text(name)
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("%w: XML: <real> %q (line %d)", ErrMalformed, text.Clip(s, maxQuoted), x.line())
		}
		return f, nil
	case "date":
		s, err := x.text(name)
		if err != nil {
			return nil, err
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%w: XML: <date> %q (line %d)", ErrMalformed, text.Clip(s, maxQuoted), x.line())
		}
		return t.UTC(), nil
	case "data":
		s, err := x.text(name)
		if err != nil {
			return nil, err
		}
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, fmt.Errorf("%w: XML: <data> is not base64 (line %d)", ErrMalformed, x.line())
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: XML: unknown element <%s> (line %d)", ErrMalformed, text.Clip(name, maxQuoted), x.line())
}

func describeStart(t xml.Token) string {
	if s, ok := t.(xml.StartElement); ok {
		return "<" + text.Clip(s.Name.Local, maxQuoted) + ">"
	}
	return describe(t)
}

// parseInteger reads an <integer>: decimal or 0x hexadecimal, negative
// values as int64, others as uint64.
func parseInteger(s string, line int) (any, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(digits), "0x"); ok {
		digits, base = h, 16
	}
	u, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: XML: <integer> %q (line %d)", ErrMalformed, text.Clip(s, maxQuoted), line)
	}
	if !neg {
		return u, nil
	}
	if u > 1<<63 {
		return nil, fmt.Errorf("%w: XML: <integer> %q out of range (line %d)", ErrMalformed, text.Clip(s, maxQuoted), line)
	}
	if u == 1<<63 {
		return int64(math.MinInt64), nil
	}
	return -int64(u), nil
}
