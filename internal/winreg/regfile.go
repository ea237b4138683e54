package winreg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/avscout/avscout/internal/text"
)

// maxQuoted bounds text quoted in an error message, in bytes.
const maxQuoted = 60

// MaxRegFileSize bounds a .reg file [ParseRegFile] reads: 16 MiB, far
// above the exports of a product's keys that avscout's tests and tools
// import, and low enough that the parse of the worst file — Latin-1 text
// widened to UTF-8, a value of it re-encoded as UTF-16 — stays under the
// service's 200 MiB.
const MaxRegFileSize = 16 << 20

// Limits Windows puts on keys; a .reg file breaking them is malformed.
const (
	maxKeyNameLen = 255 // characters in one key name
	maxKeyDepth   = 512 // levels of keys
)

// MaxKeyComponents bounds the key names a .reg file may spell out in its
// [key] sections, all sections together: a registry built from the file
// ([Fake.Import]) holds at most that many keys. 2,000 sections of keys
// 500 levels deep — a few MiB of text — would make a million keys, and a
// file that deletes and re-creates them, as many passes again. Real
// exports of a product's keys name a few thousand.
const MaxKeyComponents = 1 << 20

// ErrRegFileTooLarge means a .reg file is larger than [MaxRegFileSize] or
// names more than [MaxKeyComponents] keys.
var ErrRegFileTooLarge = errors.New(".reg file over its limits")

// RegFile is a parsed .reg export: what `reg import` or regedit would do,
// in file order.
type RegFile struct {
	// Unicode is true for "Windows Registry Editor Version 5.00" files,
	// false for REGEDIT4.
	Unicode bool
	Keys    []RegKey
}

// RegKey is one [key] section.
type RegKey struct {
	Line   int // where the section starts
	Hive   Hive
	Path   string // without the hive, backslash separated
	Delete bool   // [-KEY]: delete the key and everything beneath it
	Values []RegValue
}

// RegValue is one value line of a section.
type RegValue struct {
	Line   int
	Name   string // "" for the default value (@)
	Delete bool   // "name"=-
	Value
}

// ParseError is a malformed .reg file, with the line where it went wrong.
type ParseError struct {
	Line int
	Msg  string
	Err  error // what it is, for errors.Is ([ErrRegFileTooLarge]); may be nil
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func (e *ParseError) Unwrap() error { return e.Err }

// Headers of the two .reg formats.
const (
	header5 = "Windows Registry Editor Version 5.00"
	header4 = "REGEDIT4"
)

// ParseRegFile reads a .reg file as regedit and `reg export` write it:
// UTF-16LE with a byte-order mark ("Windows Registry Editor Version 5.00"),
// or UTF-8/ANSI (either header); [KEY] and [-KEY] sections; "name"= or @=
// followed by a "string", dword:, hex:, hex(N): data (continued over lines
// ending in a backslash) or - to delete; ; comments. Values of a deleted
// key are ignored, as regedit does. A malformed file is a *[ParseError]
// naming the line; a file over [MaxRegFileSize] is an error too.
func ParseRegFile(r io.Reader) (*RegFile, error) {
	raw, err := readText(r)
	if err != nil {
		return nil, err
	}
	text, err := decodeRegText(raw)
	if err != nil {
		return nil, err
	}
	p := &regParser{text: text}
	return p.parse()
}

// readText reads r whole, at most MaxRegFileSize bytes, as a string: in
// blocks joined once into a string builder, whose String costs no copy,
// so the file costs twice its size while read and once after (a buffer
// grown by appending costs five times).
func readText(r io.Reader) (string, error) {
	const block = 1 << 20
	lr := io.LimitReader(r, MaxRegFileSize+1)
	var blocks [][]byte
	total := 0
	for {
		b := make([]byte, block)
		n, err := io.ReadFull(lr, b)
		blocks, total = append(blocks, b[:n]), total+n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read .reg file: %w", err)
		}
	}
	if total > MaxRegFileSize {
		return "", fmt.Errorf("%w: larger than %d bytes", ErrRegFileTooLarge, MaxRegFileSize)
	}
	var t strings.Builder
	t.Grow(total)
	for _, b := range blocks {
		t.Write(b)
	}
	return t.String(), nil
}

// decodeRegText turns the file's bytes into text: UTF-16 by its BOM, UTF-8
// (BOM optional), else single-byte ANSI read as Latin-1.
func decodeRegText(b string) (string, error) {
	switch {
	case strings.HasPrefix(b, "\xff\xfe"), strings.HasPrefix(b, "\xfe\xff"):
		big := b[0] == 0xfe
		b = b[2:]
		if len(b)%2 != 0 {
			return "", errors.New(".reg file: UTF-16 text of odd length")
		}
		unit := func(i int) rune {
			if big {
				return rune(b[i])<<8 | rune(b[i+1])
			}
			return rune(b[i+1])<<8 | rune(b[i])
		}
		// Decoded unit by unit into the text: no copy of the input in
		// another width, so the file costs its text and no more.
		var t strings.Builder
		t.Grow(len(b) / 2)
		for i := 0; i < len(b); i += 2 {
			c := unit(i)
			if utf16.IsSurrogate(c) && i+3 < len(b) {
				if r := utf16.DecodeRune(c, unit(i+2)); r != utf8.RuneError {
					t.WriteRune(r)
					i += 2
					continue
				}
			}
			t.WriteRune(c)
		}
		return t.String(), nil
	case strings.HasPrefix(b, "\xef\xbb\xbf"):
		b = b[3:]
	}
	if utf8.ValidString(b) {
		return b, nil
	}
	var t strings.Builder
	t.Grow(len(b) + len(b)/4)
	for i := range len(b) {
		t.WriteRune(rune(b[i])) // Latin-1
	}
	return t.String(), nil
}

type regParser struct {
	text  string
	pos   int // where the next line starts
	n     int // number of the line last read
	file  RegFile
	names int // key name components read so far
}

func (p *regParser) errorf(line int, format string, a ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, a...)}
}

// next returns the next line without its line ending and its number. It
// reads the text in place: the lines are never split out all at once,
// which for a file of line ends alone would cost 16 bytes a byte.
func (p *regParser) next() (string, int, bool) {
	if p.pos > len(p.text) || p.pos == len(p.text) && p.n > 0 && p.text[len(p.text)-1] == '\n' {
		return "", 0, false
	}
	rest := p.text[p.pos:]
	line := rest
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
		p.pos += i + 1
	} else {
		p.pos = len(p.text) + 1
	}
	p.n++
	return strings.TrimRight(line, "\r"), p.n, true
}

func (p *regParser) parse() (*RegFile, error) {
	// The header is the first non-blank line.
header:
	for {
		line, n, ok := p.next()
		if !ok {
			return nil, p.errorf(max(n, 1), "empty file: no %q header", header5)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		switch line {
		case header5:
			p.file.Unicode = true
		case header4:
		default:
			return nil, p.errorf(n, "not a .reg file: header %q, want %q or %q", text.Clip(line, maxQuoted), header5, header4)
		}
		break header
	}
	var cur *RegKey
	for {
		raw, n, ok := p.next()
		if !ok {
			break
		}
		line := strings.TrimLeft(raw, " \t")
		switch {
		case line == "", line[0] == ';', line[0] == '#':
		case line[0] == '[':
			k, err := p.keyLine(line, n)
			if err != nil {
				return nil, err
			}
			p.file.Keys = append(p.file.Keys, k)
			cur = &p.file.Keys[len(p.file.Keys)-1]
		case line[0] == '"' || line[0] == '@':
			if cur == nil {
				return nil, p.errorf(n, "value outside of a [key] section")
			}
			v, err := p.valueLine(line, n)
			if err != nil {
				return nil, err
			}
			if !cur.Delete {
				cur.Values = append(cur.Values, v)
			}
		default:
			return nil, p.errorf(n, "unexpected text %q: want a [key], a value or a ; comment", text.Clip(line, maxQuoted))
		}
	}
	return &p.file, nil
}

func (p *regParser) keyLine(line string, n int) (RegKey, error) {
	end := strings.LastIndexByte(line, ']')
	if end < 0 {
		return RegKey{}, p.errorf(n, "key line %q has no closing ]", text.Clip(line, maxQuoted))
	}
	if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != ';' {
		return RegKey{}, p.errorf(n, "text %q after the key's ]", text.Clip(rest, maxQuoted))
	}
	name := line[1:end]
	k := RegKey{Line: n}
	if strings.HasPrefix(name, "-") {
		k.Delete, name = true, name[1:]
	}
	h, path, err := ParseKey(name)
	if err != nil {
		return RegKey{}, p.errorf(n, "%v", err)
	}
	if path != "" {
		parts := strings.Split(path, `\`)
		if len(parts) > maxKeyDepth {
			return RegKey{}, p.errorf(n, "key deeper than %d levels", maxKeyDepth)
		}
		if p.names += len(parts); p.names > MaxKeyComponents {
			return RegKey{}, &ParseError{Line: n, Msg: fmt.Sprintf("its [key] sections name more than %d keys", MaxKeyComponents), Err: ErrRegFileTooLarge}
		}
		for _, c := range parts {
			if c == "" {
				return RegKey{}, p.errorf(n, "key %q has an empty name", text.Clip(name, maxQuoted))
			}
			if utf8.RuneCountInString(c) > maxKeyNameLen {
				return RegKey{}, p.errorf(n, "key name %q longer than %d characters", text.Clip(c, maxQuoted), maxKeyNameLen)
			}
		}
	}
	k.Hive, k.Path = h, path
	return k, nil
}

func (p *regParser) valueLine(line string, n int) (RegValue, error) {
	v := RegValue{Line: n}
	var rest string
	if line[0] == '@' {
		rest = line[1:]
	} else {
		name, after, err := quoted(line)
		if err != nil {
			return v, p.errorf(n, "value name: %v", err)
		}
		v.Name, rest = name, after
	}
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "=") {
		return v, p.errorf(n, "value %q: want = after the name", text.Clip(v.Name, maxQuoted))
	}
	data := strings.TrimLeft(rest[1:], " \t")
	what := fmt.Sprintf("value %q", text.Clip(v.Name, maxQuoted))
	switch {
	case strings.HasPrefix(data, "-") && isEnd(data[1:]):
		v.Delete = true
	case strings.HasPrefix(data, `"`):
		s, after, err := quoted(data)
		if err != nil {
			return v, p.errorf(n, "%s: %v", what, err)
		}
		if !isEnd(after) {
			return v, p.errorf(n, "%s: text %q after the string", what, text.Clip(after, maxQuoted))
		}
		v.Value = Value{Type: SZ, Data: p.str(s)}
	case hasPrefixFold(data, "dword:"):
		digits, after := data[6:], ""
		if i := strings.IndexAny(digits, " \t;"); i >= 0 {
			digits, after = digits[:i], digits[i:]
		}
		num, err := strconv.ParseUint(digits, 16, 32)
		if err != nil || len(digits) > 8 || !isEnd(after) {
			return v, p.errorf(n, "%s: bad dword %q: want up to 8 hex digits", what, text.Clip(data[6:], maxQuoted))
		}
		v.Value = Value{Type: DWORD, Data: binary.LittleEndian.AppendUint32(nil, uint32(num))}
	case hasPrefixFold(data, "hex"):
		t, bytesText, err := hexType(data[3:])
		if err != nil {
			return v, p.errorf(n, "%s: %v", what, err)
		}
		b, err := p.hexBytes(bytesText, n)
		if err != nil {
			return v, err
		}
		if !p.file.Unicode && (t == EXPAND_SZ || t == MULTI_SZ) {
			b = ansiToUTF16(b) // REGEDIT4 stores these as ANSI bytes
		}
		v.Value = Value{Type: t, Data: b}
	default:
		return v, p.errorf(n, "%s: unknown data %q: want \"string\", dword:, hex:, hex(N): or -", what, text.Clip(data, maxQuoted))
	}
	return v, nil
}

// str stores a string as REG_SZ data.
func (p *regParser) str(s string) []byte { return encodeUTF16(s) }

// hexType reads "(N):" or ":" after "hex", returning the type and the text
// after the colon.
func hexType(s string) (Type, string, error) {
	if strings.HasPrefix(s, ":") {
		return BINARY, s[1:], nil
	}
	if !strings.HasPrefix(s, "(") {
		return 0, "", errors.New(`want "hex:" or "hex(N):"`)
	}
	end := strings.Index(s, "):")
	if end < 0 {
		return 0, "", errors.New(`want hex(N): with a closing "):"`)
	}
	t, err := strconv.ParseUint(s[1:end], 16, 32)
	if err != nil {
		return 0, "", fmt.Errorf("bad type in hex(%s)", text.Clip(s[1:end], maxQuoted))
	}
	return Type(t), s[end+2:], nil
}

// hexBytes reads comma-separated hex bytes, following continuation lines
// (a line ending in a backslash) and skipping comment lines among them.
func (p *regParser) hexBytes(s string, n int) ([]byte, error) {
	var out []byte
	for {
		s = strings.TrimSpace(s)
		cont := strings.HasSuffix(s, `\`)
		s = strings.TrimSuffix(s, `\`)
		if i := strings.IndexByte(s, ';'); i >= 0 && !cont {
			s = s[:i] // a comment after the last byte
		}
		for _, f := range strings.Split(s, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if len(f) > 2 {
				return nil, p.errorf(n, "bad hex byte %q", text.Clip(f, maxQuoted))
			}
			c, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return nil, p.errorf(n, "bad hex byte %q", text.Clip(f, maxQuoted))
			}
			out = append(out, byte(c))
		}
		if !cont {
			return out, nil
		}
		// Continuation: the next line that is not a comment.
		for {
			line, m, ok := p.next()
			if !ok {
				return nil, p.errorf(n, "hex data continues past the end of the file")
			}
			n = m
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, ";") {
				continue
			}
			s = line
			break
		}
	}
}

// quoted reads a "…" string at the start of s, undoing \\ and \" (and
// Wine's \n, \r, \0), and returns it with the text after the closing quote.
func quoted(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", errors.New(`want a "quoted" string`)
	}
	var b strings.Builder
	b.Grow(min(len(s), strings.IndexByte(s[1:], '"')+1))
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("string ends in a lone backslash")
			}
			i++
			switch e := s[i]; e {
			case '\\', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default: // kept as written, as regedit does
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("string has no closing quote")
}

// isEnd reports whether what follows data on a line is blank or a comment.
func isEnd(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || s[0] == ';'
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// ansiToUTF16 re-encodes REGEDIT4's single-byte string data (read as
// Latin-1) as UTF-16LE.
func ansiToUTF16(b []byte) []byte {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, c, 0)
	}
	return out
}
