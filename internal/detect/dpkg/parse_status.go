package dpkg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Package is one record (stanza) of a dpkg status file, reduced to the
// fields a scan uses. Values are as written, without surrounding blanks.
type Package struct {
	Name         string // Package
	Version      string // Version; may be empty for not-installed records
	Architecture string // Architecture
	Maintainer   string // Maintainer, as written ("AO Kaspersky Lab <support@kaspersky.com>")
	Source       string // Source, possibly with a version ("glibc", "openssl (3.0.2-1)")
	// Status is the raw "want flag state" triple ("install ok installed").
	// It is empty when the record has none, as in distroless status.d files
	// (which hold `dpkg-deb --field` output).
	Status   string
	Synopsis string // the first line of Description
	Line     int    // line of the record's first field, counting from 1
}

// MaxLine is the longest line the parsers read whole. Longer lines are
// skipped (their first bytes are still checked), and a record whose kept
// field is longer than this is reported as a problem.
const MaxLine = 64 << 10

// maxProblems bounds how many problems a [ParseError] keeps; it still
// counts them all.
const maxProblems = 10

// giveUpAfter is how many problems a parse tolerates before the first good
// record: past it, the input is not a status file at all.
const giveUpAfter = 100

// maxInterned bounds the per-parse table that shares the strings of
// repetitive fields (Status, Architecture, Maintainer, Source).
const maxInterned = 4096

// SyntaxError is one problem at one line of a status file.
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
	// not look like a status file at all; zero when it read to the end.
	GaveUpAt int
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.GaveUpAt > 0 {
		fmt.Fprintf(&b, "not a dpkg status file (gave up at line %d): ", e.GaveUpAt)
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

// ParseStatus reads a dpkg status file (deb822 records separated by blank
// lines, as in /var/lib/dpkg/status, a status.d file, or an updates/ journal
// entry) from r and calls fn with each record, in file order.
//
// It streams: memory does not grow with the input. Continuation lines are
// skipped unread, and strings are allocated only for the fields of
// [Package]. It accepts CRLF line ends, a missing final newline, an empty
// input, and field names in any case.
//
// Bad lines do not stop it. A line it cannot read (no colon, binary data, a
// continuation outside a record, a kept field longer than [MaxLine]) is
// recorded and skipped; the record around it is still delivered if it has a
// valid Package name, since a partial record beats a missed one. A record
// without a valid Package name is dropped. A Package field that repeats
// inside a record is taken as the start of a new record (a lost blank line).
// After the end of input, ParseStatus returns a [*ParseError] listing the
// problems, or nil. When the first 100 problems come before any
// good record, it stops: the input is not a status file.
//
// If fn returns an error, ParseStatus stops and returns that error as is.
// A read error is returned wrapped, joined with any problems found so far.
func ParseStatus(r io.Reader, fn func(Package) error) error {
	p := parser{
		lr:     lineReader{br: bufio.NewReaderSize(r, MaxLine)},
		fn:     fn,
		intern: make(map[string]string),
	}
	return p.run()
}

// field identifies the kept fields of a record.
type field uint8

const (
	fieldOther field = iota // a field the parser skips
	fieldPackage
	fieldVersion
	fieldArchitecture
	fieldMaintainer
	fieldSource
	fieldStatus
	fieldDescription
)

func (f field) String() string {
	switch f {
	case fieldPackage:
		return "Package"
	case fieldVersion:
		return "Version"
	case fieldArchitecture:
		return "Architecture"
	case fieldMaintainer:
		return "Maintainer"
	case fieldSource:
		return "Source"
	case fieldStatus:
		return "Status"
	case fieldDescription:
		return "Description"
	}
	return "other"
}

// fieldOf maps a field name, in any case, to a kept field.
func fieldOf(name []byte) field {
	// Fast path: dpkg writes canonical names.
	switch string(name) {
	case "Package":
		return fieldPackage
	case "Version":
		return fieldVersion
	case "Architecture":
		return fieldArchitecture
	case "Maintainer":
		return fieldMaintainer
	case "Source":
		return fieldSource
	case "Status":
		return fieldStatus
	case "Description":
		return fieldDescription
	}
	// Field names are case-insensitive: compare by length first, so the
	// many skipped fields cost little.
	switch len(name) {
	case 6, 7, 10, 11, 12:
		for f := fieldPackage; f <= fieldDescription; f++ {
			if strings.EqualFold(string(name), f.String()) {
				return f
			}
		}
	}
	return fieldOther
}

type parser struct {
	lr     lineReader
	fn     func(Package) error
	intern map[string]string

	// The record being read.
	cur     Package
	seen    uint16 // bit per field already read in cur
	open    bool   // cur has at least one field
	dropped bool   // cur's Package field was unusable: drop the record

	good     int // records delivered
	problems []*SyntaxError
	count    int
	gaveUp   int // line the parse stopped at, when it gave up
}

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
	switch line[0] {
	case ' ', '\t':
		if !p.open {
			p.problem("continuation line outside a record")
		}
		return nil
	case '#':
		// deb822 comment; dpkg does not write them, but they are harmless.
		return nil
	}
	if bytes.IndexByte(line, 0) >= 0 {
		p.problem("binary data (NUL byte)")
		return nil
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		p.problem(fmt.Sprintf("not a field: %s", quote(line)))
		return nil
	}
	name := line[:colon]
	if !validFieldName(name) {
		p.problem(fmt.Sprintf("bad field name %s", quote(name)))
		return nil
	}
	f := fieldOf(name)
	if f == fieldPackage && p.seen&(1<<fieldPackage) != 0 {
		p.problem("Package field repeats without a blank line before it; taken as a new record")
		if err := p.finish(); err != nil {
			return err
		}
	}
	if !p.open {
		p.cur.Line = p.lr.n
		p.open = true
	}
	if f == fieldOther {
		return nil
	}
	if p.seen&(1<<f) != 0 {
		p.problem(fmt.Sprintf("duplicate %s field ignored", f))
		return nil
	}
	p.seen |= 1 << f
	if long {
		p.problem(fmt.Sprintf("%s field longer than %d bytes", f, MaxLine))
		if f == fieldPackage {
			p.dropped = true
		}
		return nil
	}
	value := bytes.Trim(line[colon+1:], " \t")
	switch f {
	case fieldPackage:
		if !validPackageName(value) {
			p.problem(fmt.Sprintf("bad package name %s", quote(value)))
			p.dropped = true
			return nil
		}
		p.cur.Name = string(value)
	case fieldVersion:
		p.cur.Version = string(value)
	case fieldArchitecture:
		p.cur.Architecture = p.interned(value)
	case fieldMaintainer:
		p.cur.Maintainer = p.interned(value)
	case fieldSource:
		p.cur.Source = p.interned(value)
	case fieldStatus:
		p.cur.Status = p.interned(value)
	case fieldDescription:
		p.cur.Synopsis = string(value)
	}
	return nil
}

// finish ends the current record, delivering it when it is good.
func (p *parser) finish() error {
	if !p.open {
		return nil
	}
	cur, dropped, named := p.cur, p.dropped, p.seen&(1<<fieldPackage) != 0
	p.cur, p.seen, p.open, p.dropped = Package{}, 0, false, false
	switch {
	case dropped:
		return nil // already reported
	case !named:
		p.problemAt(cur.Line, "record without a Package field")
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
// a parse: Status, Architecture and Maintainer repeat a lot.
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
// and tabs (Debian policy lets parsers accept those).
func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// validFieldName reports a deb822 field name: printable ASCII without
// spaces or colons, not starting with '#' or '-'.
func validFieldName(name []byte) bool {
	if len(name) == 0 || name[0] == '-' || name[0] == '#' {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// validPackageName accepts Debian package names ([a-z0-9][a-z0-9+.-]+),
// leniently: upper case and '_' are let through, as old or foreign
// databases carry them, but blanks, control bytes and non-ASCII are not.
func validPackageName(name []byte) bool {
	if len(name) == 0 || len(name) > 256 {
		return false
	}
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
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
