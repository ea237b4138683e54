package apk

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/avscout/avscout/internal/detect/internal/recfile"
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
const MaxLine = recfile.MaxLine

// SyntaxError is one problem at one line of an installed database.
type SyntaxError = recfile.SyntaxError

// ParseError summarises the problems a parse stepped over. It is returned
// after every good record has been delivered. Its GaveUpAt is the line
// where the parse stopped because the input did not look like an installed
// database at all.
type ParseError = recfile.ParseError

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
	p := parser{fn: fn}
	p.sc.Init(r, "an apk installed database")
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
	sc     recfile.Scanner
	fn     func(Package) error
	intern recfile.Interner

	// The record being read.
	cur     Package
	seen    [6]bool // kept keys already read in cur, by keyIndex
	open    bool    // cur has at least one field
	dropped bool    // cur's name was unusable: drop the record
}

// keyIndex numbers the kept keys; it is -1 for the others.
func keyIndex(k byte) int { return strings.IndexByte("PVAmoT", k) }

func (p *parser) run() error {
	for p.sc.Scan() {
		if err := p.line(p.sc.Bytes(), p.sc.Long()); err != nil {
			return err
		}
	}
	if p.sc.AtEOF() {
		if err := p.finish(); err != nil {
			return err
		}
	}
	return p.sc.Err()
}

// line handles one line. It returns only errors from fn.
func (p *parser) line(line []byte, long bool) error {
	if recfile.IsBlank(line) {
		return p.finish()
	}
	if p.sc.HasNUL() { // bytes.IndexByte(line, 0) >= 0, cheaper
		p.sc.Problem("binary data (NUL byte)")
		return nil
	}
	if len(line) < 2 || line[1] != ':' || !isLetter(line[0]) {
		p.sc.Problem(fmt.Sprintf("not a key:value line: %s", recfile.Quote(line)))
		return nil
	}
	k := line[0]
	if k == 'P' && p.seen[0] {
		p.sc.Problem("P: repeats without a blank line before it; taken as a new record")
		if err := p.finish(); err != nil {
			return err
		}
	}
	if !p.open {
		p.cur.Line = p.sc.Line()
		p.open = true
	}
	i := keyIndex(k)
	if i < 0 {
		return nil // a key the scan does not use: file lines and the like
	}
	if p.seen[i] {
		p.sc.Problem(fmt.Sprintf("duplicate %s ignored", keyName(k)))
		return nil
	}
	p.seen[i] = true
	if long {
		p.sc.Problem(fmt.Sprintf("%s longer than %d bytes", keyName(k), MaxLine))
		if k == 'P' {
			p.dropped = true
		}
		return nil
	}
	value := bytes.Trim(line[2:], " \t")
	switch k {
	case 'P':
		if !validName(value) {
			p.sc.Problem(fmt.Sprintf("bad package name %s", recfile.Quote(value)))
			p.dropped = true
			return nil
		}
		p.cur.Name = string(value)
	case 'V':
		p.cur.Version = string(value)
	case 'A':
		p.cur.Architecture = p.intern.String(value)
	case 'm':
		p.cur.Maintainer = p.intern.String(value)
	case 'o':
		p.cur.Origin = p.intern.String(value)
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
		p.sc.ProblemAt(cur.Line, "record without a P: (name) line")
		return nil
	}
	p.sc.Delivered()
	return p.fn(cur)
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
