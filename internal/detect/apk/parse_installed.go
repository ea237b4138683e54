package apk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Package is one record of an apk installed database, reduced to the
// fields a scan uses. Values are as written, without surrounding blanks.
type Package struct {
	Name         string // P:
	Version      string // V:
	Architecture string // A:
	Maintainer   string // m: ("Natanael Copa <ncopa@alpinelinux.org>")
	Origin       string // o: the source package (aport) it was built from
	Description  string // T:
	Line         int    // line of the record's first field, counting from 1
}

// MaxLine is the longest line the parser reads whole. Longer lines are
// skipped (their first bytes are still checked), and a record whose kept
// field is longer than this is reported as a problem.
const MaxLine = 64 << 10

// maxProblems bounds how many problems a [ParseError] keeps; it still
// counts them all.
const maxProblems = 10

// giveUpAfter is how many problems a parse tolerates before the first good
// record: past it, the input is not an installed database at all.
const giveUpAfter = 100

// maxInterned bounds the per-parse table that shares the strings of
// repetitive fields (Architecture, Maintainer, Origin).
const maxInterned = 4096

// SyntaxError is one problem at one line of an installed database.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// ParseError summarises the problems a parse stepped over. It is returned
// after every good record has been delivered.
type ParseError struct {
	Problems []*SyntaxError // the first few problems, in file order
	Count    int            // how many problems there were in all
	// GaveUpAt is the line where the parse stopped because the input did
	// not look like an installed database at all; zero when it read to
	// the end.
	GaveUpAt int
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.GaveUpAt > 0 {
		fmt.Fprintf(&b, "not an apk installed database (gave up at line %d): ", e.GaveUpAt)
	}
	if e.Count > 1 {
		fmt.Fprintf(&b, "%d problems: ", e.Count)
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Error())
	}
	if more := e.Count - len(e.Problems); more > 0 {
		fmt.Fprintf(&b, "; and %d more", more)
	}
	return b.String()
}

// Unwrap gives the kept problems to [errors.Is] and [errors.As].
func (e *ParseError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// ParseInstalled reads an apk installed database (lib/apk/db/installed:
// records separated by blank lines, each line "X:value" with a one-letter
// key) from r and calls fn with each record, in file order.
//
// It streams: memory does not grow with the input, and strings are
// allocated only for the fields of [Package]; the many file lines (F:, R:,
// a:, M:, Z:) are skipped unread. It accepts CRLF line ends, a missing final
// newline and an empty input.
//
// Bad lines do not stop it. A line it cannot read (not "X:value", binary
// data, a kept field longer than [MaxLine]) is recorded and skipped; the
// record around it is still delivered if it has a valid P: name, since a
// partial record beats a missed one. A record without a valid name is
// dropped. A P: line that repeats inside a record is taken as the start of
// a new record (a lost blank line). After the end of input, ParseInstalled
// returns a [*ParseError] listing the problems, or nil. When the first
// 100 problems come before any good record, it stops: the input
// is not an installed database.
//
// If fn returns an error, ParseInstalled stops and returns that error as
// is. A read error is returned wrapped, joined with any problems found so
// far.
func ParseInstalled(r io.Reader, fn func(Package) error) error {
	p := parser{
		lr:     lineReader{br: bufio.NewReaderSize(r, MaxLine)},
		fn:     fn,
		intern: make(map[string]string),
	}
	return p.run()
}

// keyName names the kept keys in messages.
func keyName(k byte) string {
	switch k {
	case 'P':
		return "P: (name)"
	case 'V':
		return "V: (version)"
	case 'A':
		return "A: (architecture)"
	case 'm':
		return "m: (maintainer)"
	case 'o':
		return "o: (origin)"
	case 'T':
		return "T: (description)"
	}
	return string(k) + ":"
}

type parser struct {
	lr     lineReader
	fn     func(Package) error
	intern map[string]string

	// The record being read.
	cur     Package
	seen    [6]bool // kept keys already read in cur, by keyIndex
	open    bool    // cur has at least one field
	dropped bool    // cur's name was unusable: drop the record

	good     int // records delivered
	problems []*SyntaxError
	count    int
	gaveUp   int
}

// keyIndex numbers the kept keys; it is -1 for the others.
func keyIndex(k byte) int { return strings.IndexByte("PVAmoT", k) }

func (p *parser) run() error {
	for {
		line, long, err := p.lr.next()
		if err == io.EOF {
			if err := p.finish(); err != nil {
				return err
			}
			return p.result()
		}
		if err != nil {
			readErr := fmt.Errorf("reading after line %d: %w", p.lr.n, err)
			return errors.Join(readErr, p.result())
		}
		if err := p.line(line, long); err != nil {
			return err
		}
		if p.good == 0 && p.count >= giveUpAfter {
			p.gaveUp = p.lr.n
			return p.result()
		}
	}
}

// line handles one line. It returns only errors from fn.
func (p *parser) line(line []byte, long bool) error {
	if isBlank(line) {
		return p.finish()
	}
	if bytes.IndexByte(line, 0) >= 0 {
		p.problem("binary data (NUL byte)")
		return nil
	}
	if len(line) < 2 || line[1] != ':' || !isLetter(line[0]) {
		p.problem(fmt.Sprintf("not a key:value line: %s", quote(line)))
		return nil
	}
	k := line[0]
	if k == 'P' && p.seen[0] {
		p.problem("P: repeats without a blank line before it; taken as a new record")
		if err := p.finish(); err != nil {
			return err
		}
	}
	if !p.open {
		p.cur.Line = p.lr.n
		p.open = true
	}
	i := keyIndex(k)
	if i < 0 {
		return nil // a key the scan does not use: file lines and the like
	}
	if p.seen[i] {
		p.problem(fmt.Sprintf("duplicate %s ignored", keyName(k)))
		return nil
	}
	p.seen[i] = true
	if long {
		p.problem(fmt.Sprintf("%s longer than %d bytes", keyName(k), MaxLine))
		if k == 'P' {
			p.dropped = true
		}
		return nil
	}
	value := bytes.Trim(line[2:], " \t")
	switch k {
	case 'P':
		if !validName(value) {
			p.problem(fmt.Sprintf("bad package name %s", quote(value)))
			p.dropped = true
			return nil
		}
		p.cur.Name = string(value)
	case 'V':
		p.cur.Version = string(value)
	case 'A':
		p.cur.Architecture = p.interned(value)
	case 'm':
		p.cur.Maintainer = p.interned(value)
	case 'o':
		p.cur.Origin = p.interned(value)
	case 'T':
		p.cur.Description = string(value)
	}
	return nil
}

// finish ends the current record, delivering it when it is good.
func (p *parser) finish() error {
	if !p.open {
		return nil
	}
	cur, dropped, named := p.cur, p.dropped, p.seen[0]
	p.cur, p.seen, p.open, p.dropped = Package{}, [6]bool{}, false, false
	switch {
	case dropped:
		return nil // already reported
	case !named:
		p.problemAt(cur.Line, "record without a P: (name) line")
		return nil
	}
	p.good++
	return p.fn(cur)
}

func (p *parser) result() error {
	if p.count == 0 {
		return nil
	}
	return &ParseError{Problems: p.problems, Count: p.count, GaveUpAt: p.gaveUp}
}

func (p *parser) problem(msg string) { p.problemAt(p.lr.n, msg) }

func (p *parser) problemAt(line int, msg string) {
	p.count++
	if len(p.problems) < maxProblems {
		p.problems = append(p.problems, &SyntaxError{Line: line, Msg: msg})
	}
}

// interned returns b as a string, sharing one copy between the records of
// a parse: architecture, maintainer and origin repeat a lot.
func (p *parser) interned(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.intern) < maxInterned {
		p.intern[s] = s
	}
	return s
}

// lineReader reads lines of at most MaxLine bytes, counting them.
type lineReader struct {
	br      *bufio.Reader
	n       int       // number of the line last returned
	scratch [256]byte // head of an over-long line
}

// next returns the next line without its line end. The slice is valid
// until the next call. For a line longer than the buffer, long is true and
// line holds only its first bytes; the rest is discarded. At the end of
// input it returns io.EOF.
func (lr *lineReader) next() (line []byte, long bool, err error) {
	line, err = lr.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long = true
		head := lr.scratch[:copy(lr.scratch[:], line)]
		for err == bufio.ErrBufferFull {
			_, err = lr.br.ReadSlice('\n')
		}
		line = head
	}
	switch {
	case err == io.EOF && len(line) == 0 && !long:
		return nil, false, io.EOF
	case err == io.EOF:
		err = nil // a last line without newline
	case err != nil:
		return nil, false, err
	}
	lr.n++
	if !long {
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line, long, nil
}

// isBlank reports a record separator: an empty line, or one of only spaces
// and tabs.
func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// validName accepts apk package names leniently: ASCII letters, digits and
// "+-._", which covers Alpine, Wolfi and OpenWrt; blanks, control bytes and
// non-ASCII are refused.
func validName(name []byte) bool {
	if len(name) == 0 || len(name) > 256 {
		return false
	}
	for _, c := range name {
		switch {
		case isLetter(c), '0' <= c && c <= '9':
		case c == '+' || c == '-' || c == '.' || c == '_':
		default:
			return false
		}
	}
	return true
}

// quote shows a piece of input in an error message, shortened.
func quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}
