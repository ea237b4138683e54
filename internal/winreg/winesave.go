package winreg

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// wineSaveHeader is the first line of a key Wine's RegSaveKey wrote: Wine
// saves in the text format of its own registry files (system.reg), not in
// the hive format Windows writes.
const wineSaveHeader = "WINE REGISTRY Version 2"

// IsWineSave reports whether b starts like a key saved by Wine.
func IsWineSave(b []byte) bool { return bytes.HasPrefix(b, []byte(wineSaveHeader)) }

// ParseWineSave reads a key saved by Wine's RegSaveKey ("WINE REGISTRY
// Version 2" text: one "[path] seconds" line per key, relative to the
// saved one, its "#time=" last-write time, then its values) and returns
// the saved key, named name in errors, as an in-memory [Key].
//
// The format is Wine's server/registry.c: names and strings escape "\",
// quotes and brackets with a backslash, control characters as C or octal
// escapes and anything past ASCII as \x and up to four hex digits of a
// UTF-16 unit; "str(N):" gives another string type, "dword:" a DWORD,
// "hex:" and "hex(N):" bytes, folded over lines ending in "\". A key
// without values is written only when it has no subkeys: the others are
// made as their subkeys' paths name them, with no last-write time (a zero
// ModTime), which Wine does not save for them.
//
// Anything else is an error naming the line, and so is what the copy
// could not hold faithfully: two keys or values whose names Go's case
// folding would merge though Windows keeps them apart, a key written
// twice, more than [MaxNames] subkeys or values in a key or a million in
// all. A copy is either read whole or not used.
func ParseWineSave(r io.Reader, name string) (Key, error) {
	p := wineParser{sc: bufio.NewScanner(r), root: newNode(name), written: map[*node]bool{}}
	p.sc.Buffer(make([]byte, 0, 64<<10), maxWineLine)
	if err := p.parse(); err != nil {
		return nil, fmt.Errorf("%s: saved key: %w", name, err)
	}
	return &fakeKey{n: p.root, name: name}, nil
}

// maxWineLine bounds one line of a saved key; Wine folds binary values
// at 80 columns and writes strings on one line, so a value of
// [MaxValueSize] bytes fits.
const maxWineLine = 8*MaxValueSize + 1024

type wineParser struct {
	sc      *bufio.Scanner
	line    int
	root    *node
	cur     *node          // the key the values that follow belong to
	written map[*node]bool // keys that had a line of their own
	items   int            // keys and values so far
}

// maxWineItems bounds the keys and values of one saved key: about twice
// what a machine's Services key holds. Past it the copy is not used.
const maxWineItems = 1_000_000

func (p *wineParser) errorf(format string, a ...any) error {
	return fmt.Errorf("line %d: %s", p.line, fmt.Sprintf(format, a...))
}

func (p *wineParser) next() (string, bool) {
	if !p.sc.Scan() {
		return "", false
	}
	p.line++
	return strings.TrimSuffix(p.sc.Text(), "\r"), true
}

func (p *wineParser) parse() error {
	first, ok := p.next()
	if !ok || first != wineSaveHeader {
		if err := p.sc.Err(); err != nil {
			return err
		}
		return errors.New("not a key saved by Wine")
	}
	for {
		line, ok := p.next()
		if !ok {
			return p.sc.Err()
		}
		switch {
		case line == "" || line[0] == ';':
		case line[0] == '#':
			if err := p.option(line); err != nil {
				return err
			}
		case line[0] == '[':
			if err := p.key(line); err != nil {
				return err
			}
		case line[0] == '"' || line[0] == '@':
			if err := p.value(line); err != nil {
				return err
			}
		default:
			return p.errorf("not a key, value or option: %.40q", line)
		}
	}
}

// option handles a "#name=value" line: a key's #time is its last-write
// time; the others (#arch, #class, #link) say nothing a scan reads.
func (p *wineParser) option(line string) error {
	t, ok := strings.CutPrefix(line, "#time=")
	if !ok || p.cur == nil {
		return nil
	}
	ft, err := strconv.ParseUint(t, 16, 64)
	if err != nil {
		return p.errorf("bad #time %q", t)
	}
	p.cur.modTime = FileTime(ft)
	return nil
}

// FileTime converts a FILETIME (100 ns since 1601), as hives and Wine's
// saved keys record last-write times, to a UTC time; the zero time for
// none (0) or one before 1970.
func FileTime(ft uint64) time.Time {
	const unixEpoch = 116444736000000000 // 1970-01-01 as a FILETIME
	if ft < unixEpoch {
		return time.Time{}
	}
	ft -= unixEpoch
	return time.Unix(int64(ft/1e7), int64(ft%1e7)*100).UTC()
}

// key handles "[path] seconds": the key path relative to the saved key.
func (p *wineParser) key(line string) error {
	path, rest, err := unescapeWine(line[1:], ']')
	if err != nil {
		return p.errorf("key: %v", err)
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		if _, err := strconv.ParseUint(rest, 10, 64); err != nil {
			return p.errorf("key %q: bad timestamp %q", path, rest)
		}
	}
	n := p.root
	if path != "" {
		for _, c := range strings.Split(path, `\`) {
			if c == "" {
				return p.errorf("key %q: empty name", path)
			}
			child, ok := n.children[strings.ToLower(c)]
			switch {
			case !ok:
				if len(n.children) >= MaxNames {
					return p.errorf("key %q: more than %d subkeys in one key", path, MaxNames)
				}
				if err := p.count(); err != nil {
					return err
				}
				child = newNode(c)
				n.children[strings.ToLower(c)] = child
			case child.name != c:
				// Two keys Windows and Wine keep apart ("k" and the Kelvin
				// sign) that Go's case folding would merge.
				return p.errorf("keys %q and %q would be taken for one", child.name, c)
			}
			n = child
		}
	}
	if p.written[n] {
		return p.errorf("key %q written twice", path)
	}
	p.written[n], p.cur = true, n
	return nil
}

// count counts one more key or value against maxWineItems.
func (p *wineParser) count() error {
	if p.items++; p.items > maxWineItems {
		return p.errorf("more than %d keys and values", maxWineItems)
	}
	return nil
}

// value handles `"name"=data` or `@=data` (the default value).
func (p *wineParser) value(line string) error {
	if p.cur == nil {
		return p.errorf("value before any key")
	}
	var name, rest string
	if line[0] == '@' {
		rest = line[1:]
	} else {
		var err error
		if name, rest, err = unescapeWine(line[1:], '"'); err != nil {
			return p.errorf("value name: %v", err)
		}
	}
	data, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return p.errorf("value %q: no '='", name)
	}
	v, err := p.data(data)
	if err != nil {
		return p.errorf("value %q: %v", name, err)
	}
	if len(v.Data) > MaxValueSize {
		return p.errorf("value %q: %d bytes: %v", name, len(v.Data), ErrTooLarge)
	}
	if _, dup := p.cur.values[strings.ToLower(name)]; dup {
		// Wine writes each value once: this is another that Go's case
		// folding would merge with it ("id" and "İd").
		return p.errorf("value %q: a second value of that name", name)
	}
	if len(p.cur.values) >= MaxNames {
		return p.errorf("more than %d values in one key", MaxNames)
	}
	if err := p.count(); err != nil {
		return err
	}
	p.cur.values[strings.ToLower(name)] = &namedValue{name: name, Value: v}
	return nil
}

func (p *wineParser) data(s string) (Value, error) {
	var typ Type
	switch {
	case strings.HasPrefix(s, `"`):
		return wineString(SZ, s)
	case strings.HasPrefix(s, "str("):
		t, rest, err := wineType(s[len("str("):])
		if err != nil {
			return Value{}, err
		}
		return wineString(t, rest)
	case strings.HasPrefix(s, "dword:"):
		n, err := strconv.ParseUint(s[len("dword:"):], 16, 32)
		if err != nil {
			return Value{}, fmt.Errorf("bad dword %q", s)
		}
		return Value{Type: DWORD, Data: binary.LittleEndian.AppendUint32(nil, uint32(n))}, nil
	case strings.HasPrefix(s, "hex:"):
		typ, s = BINARY, s[len("hex:"):]
	case strings.HasPrefix(s, "hex("):
		t, rest, err := wineType(s[len("hex("):])
		if err != nil {
			return Value{}, err
		}
		typ, s = t, rest
	default:
		return Value{}, fmt.Errorf("unknown data %.20q", s)
	}
	var b []byte
	for {
		more := strings.HasSuffix(s, `\`)
		for _, h := range strings.Split(strings.TrimSuffix(s, `\`), ",") {
			if h = strings.TrimSpace(h); h == "" {
				continue
			}
			c, err := strconv.ParseUint(h, 16, 8)
			if err != nil {
				return Value{}, fmt.Errorf("bad byte %q", h)
			}
			b = append(b, byte(c))
			if len(b) > MaxValueSize {
				return Value{}, ErrTooLarge
			}
		}
		if !more {
			return Value{Type: typ, Data: b}, nil
		}
		var ok bool
		if s, ok = p.next(); !ok {
			return Value{}, errors.New("binary value cut off at the end")
		}
	}
}

// wineType reads the hex type of "str(N):" or "hex(N):" after its "(".
func wineType(s string) (Type, string, error) {
	t, rest, ok := strings.Cut(s, "):")
	if !ok {
		return 0, "", fmt.Errorf("bad type in %.20q", s)
	}
	n, err := strconv.ParseUint(t, 16, 32)
	if err != nil {
		return 0, "", fmt.Errorf("bad type %q", t)
	}
	return Type(n), rest, nil
}

// wineString reads a quoted string value as UTF-16 with its terminating
// NUL, which Wine leaves out of the file.
func wineString(t Type, s string) (Value, error) {
	if !strings.HasPrefix(s, `"`) {
		return Value{}, fmt.Errorf("string not quoted: %.20q", s)
	}
	units, rest, err := unescapeWineUnits(s[1:], '"')
	if err != nil {
		return Value{}, err
	}
	if strings.TrimSpace(rest) != "" {
		return Value{}, fmt.Errorf("text after the string: %.20q", rest)
	}
	b := make([]byte, 0, 2*len(units)+2)
	for _, u := range units {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return Value{Type: t, Data: append(b, 0, 0)}, nil
}

// unescapeWine reads escaped text up to the unescaped end byte and
// returns it as a string and what follows the end.
func unescapeWine(s string, end byte) (string, string, error) {
	units, rest, err := unescapeWineUnits(s, end)
	if err != nil {
		return "", "", err
	}
	return string(utf16.Decode(units)), rest, nil
}

// unescapeWineUnits reads escaped text up to the unescaped end byte as
// UTF-16 units, and returns what follows the end.
func unescapeWineUnits(s string, end byte) ([]uint16, string, error) {
	var out []uint16
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == end:
			return out, s[i+1:], nil
		case c == '\\' && i+1 < len(s):
			n, u := wineEscape(s[i+1:])
			out = append(out, u)
			i += 1 + n
		case c == '\\':
			return nil, "", errors.New("text ends in a lone backslash")
		case c < utf8.RuneSelf:
			out = append(out, uint16(c))
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				out = append(out, uint16(r1), uint16(r2))
			} else {
				out = append(out, uint16(r))
			}
			i += size
		}
	}
	return nil, "", fmt.Errorf("no closing %q", end)
}

// wineEscape decodes the escape after a backslash at the start of s and
// returns how many bytes it took and the UTF-16 unit it stands for.
func wineEscape(s string) (int, uint16) {
	switch c := s[0]; c {
	case 'a':
		return 1, '\a'
	case 'b':
		return 1, '\b'
	case 'e':
		return 1, 0x1b
	case 'f':
		return 1, '\f'
	case 'n':
		return 1, '\n'
	case 'r':
		return 1, '\r'
	case 't':
		return 1, '\t'
	case 'v':
		return 1, '\v'
	case 'x':
		n, v := 0, uint16(0)
		for n < 4 && 1+n < len(s) && isHex(s[1+n]) {
			d, _ := strconv.ParseUint(s[1+n:2+n], 16, 8)
			v = v<<4 | uint16(d)
			n++
		}
		if n == 0 {
			return 1, 'x' // "\x" with no digit: the letter, as Wine reads it
		}
		return 1 + n, v
	default:
		if '0' <= c && c <= '7' {
			n, v := 0, uint16(0)
			for n < 3 && n < len(s) && '0' <= s[n] && s[n] <= '7' {
				v = v<<3 | uint16(s[n]-'0')
				n++
			}
			return n, v
		}
		return 1, uint16(c) // "\\", "\"", "\[", "\]" and any other: the byte itself
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
