package plist

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// textDecoder reads the OpenStep ("old-style") form: { key = value; },
// ( a, b ), "quoted" or bare strings, <hex data>, // and /* */ comments.
// Every value is a string, an array, a dictionary or data.
type textDecoder struct {
	s   string
	pos int
	budget
}

func decodeText(b []byte, lim Limits) (any, error) {
	t := &textDecoder{s: string(b), budget: budget{form: "OpenStep", lim: lim}}
	t.s = strings.TrimPrefix(t.s, "\ufeff")
	v, err := t.value(1)
	if err != nil {
		return nil, err
	}
	if t.skip(); t.pos < len(t.s) {
		return nil, t.errorf("text after the property list")
	}
	return v, nil
}

func (t *textDecoder) errorf(format string, a ...any) error {
	line := 1 + strings.Count(t.s[:min(t.pos, len(t.s))], "\n")
	return fmt.Errorf("%w: OpenStep: %s (line %d)", ErrMalformed, fmt.Sprintf(format, a...), line)
}

// skip passes blanks and comments.
func (t *textDecoder) skip() {
	for t.pos < len(t.s) {
		switch c := t.s[t.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			t.pos++
		case strings.HasPrefix(t.s[t.pos:], "//"):
			if i := strings.IndexByte(t.s[t.pos:], '\n'); i >= 0 {
				t.pos += i + 1
			} else {
				t.pos = len(t.s)
			}
		case strings.HasPrefix(t.s[t.pos:], "/*"):
			if i := strings.Index(t.s[t.pos+2:], "*/"); i >= 0 {
				t.pos += i + 4
			} else {
				t.pos = len(t.s)
			}
		default:
			return
		}
	}
}

// expect passes c after blanks, or fails.
func (t *textDecoder) expect(c byte, what string) error {
	t.skip()
	if t.pos >= len(t.s) || t.s[t.pos] != c {
		return t.errorf("want %q %s", c, what)
	}
	t.pos++
	return nil
}

func (t *textDecoder) value(depth int) (any, error) {
	if err := t.budget.value(); err != nil {
		return nil, err
	}
	t.skip()
	if t.pos >= len(t.s) {
		return nil, t.errorf("ends where a value should be")
	}
	switch t.s[t.pos] {
	case '{':
		if err := t.depth(depth); err != nil {
			return nil, err
		}
		t.pos++
		m := map[string]any{}
		for {
			t.skip()
			if t.pos < len(t.s) && t.s[t.pos] == '}' {
				t.pos++
				return m, nil
			}
			if err := t.budget.value(); err != nil {
				return nil, err
			}
			k, err := t.str()
			if err != nil {
				return nil, err
			}
			if err := t.expect('=', "after a dictionary key"); err != nil {
				return nil, err
			}
			if m[k], err = t.value(depth + 1); err != nil {
				return nil, err
			}
			if err := t.expect(';', "after a dictionary value"); err != nil {
				return nil, err
			}
		}
	case '(':
		if err := t.depth(depth); err != nil {
			return nil, err
		}
		t.pos++
		arr := []any{}
		for {
			t.skip()
			if t.pos < len(t.s) && t.s[t.pos] == ')' {
				t.pos++
				return arr, nil
			}
			v, err := t.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			t.skip()
			if t.pos < len(t.s) && t.s[t.pos] == ',' {
				t.pos++
				continue
			}
			if err := t.expect(')', "or ',' in an array"); err != nil {
				return nil, err
			}
			return arr, nil
		}
	case '<':
		end := strings.IndexByte(t.s[t.pos:], '>')
		if end < 0 {
			return nil, t.errorf("data without a closing '>'")
		}
		digits := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, t.s[t.pos+1:t.pos+end])
		b, err := hex.DecodeString(digits)
		if err != nil {
			return nil, t.errorf("data is not hexadecimal")
		}
		if err := t.data(len(b)); err != nil {
			return nil, err
		}
		t.pos += end + 1
		return b, nil
	}
	return t.str()
}

// str reads a quoted or a bare string.
func (t *textDecoder) str() (string, error) {
	t.skip()
	if t.pos >= len(t.s) {
		return "", t.errorf("ends where a string should be")
	}
	if t.s[t.pos] == '"' || t.s[t.pos] == '\'' {
		return t.quoted(t.s[t.pos])
	}
	start := t.pos
	for t.pos < len(t.s) && bare(t.s[t.pos]) {
		t.pos++
	}
	if t.pos == start {
		return "", t.errorf("unexpected %q", t.s[t.pos])
	}
	if err := t.data(t.pos - start); err != nil {
		return "", err
	}
	return t.s[start:t.pos], nil
}

// bare reports whether c may appear in an unquoted string.
func bare(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("_$+/:.-", c) >= 0
}

// quoted reads a string in quotes q, undoing \\, \", \n, \t, \r, \a, \b,
// \f, \v, octal \ooo and \Uxxxx escapes.
func (t *textDecoder) quoted(q byte) (string, error) {
	t.pos++
	var b strings.Builder
	for t.pos < len(t.s) {
		c := t.s[t.pos]
		switch {
		case c == q:
			t.pos++
			if err := t.data(b.Len()); err != nil {
				return "", err
			}
			return b.String(), nil
		case c == '\\' && t.pos+1 < len(t.s):
			t.pos++
			e := t.s[t.pos]
			t.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case 'U', 'u':
				end := min(t.pos+4, len(t.s))
				r, err := strconv.ParseUint(t.s[t.pos:end], 16, 16)
				if err != nil || end-t.pos != 4 {
					return "", t.errorf("bad \\U escape")
				}
				b.WriteRune(rune(r))
				t.pos = end
			case '0', '1', '2', '3', '4', '5', '6', '7':
				end := t.pos - 1
				for end < len(t.s) && end < t.pos+2 && '0' <= t.s[end] && t.s[end] <= '7' {
					end++
				}
				r, _ := strconv.ParseUint(t.s[t.pos-1:end], 8, 8)
				b.WriteRune(rune(r))
				t.pos = end
			default:
				b.WriteByte(e)
			}
		default:
			_, n := utf8.DecodeRuneInString(t.s[t.pos:])
			b.WriteString(t.s[t.pos : t.pos+n])
			t.pos += n
		}
	}
	return "", t.errorf("string without a closing quote")
}
