package dpkg

import (
	"fmt"
	"io"
	"strings"

	"github.com/avscout/avscout/internal/detect/internal/recfile"
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

// MaxLine is the longest line the parser reads whole. Longer lines are
// skipped (their first bytes are still checked), and a record whose kept
// field is longer than this is reported as a problem.
const MaxLine = recfile.MaxLine

// SyntaxError is one problem at one line of a status file.
type SyntaxError = recfile.SyntaxError

// ParseError summarises the problems a parse stepped over. It is returned
// after every good record has been delivered. Its GaveUpAt is the line
// where the parse stopped because the input did not look like a status
// file at all.
type ParseError = recfile.ParseError

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
	return parseRecords(r, true, func(r *record) error { return fn(r.Package()) })
}

// record is a record as the parser delivers it: the fields that repeat
// between records (Architecture, Maintainer, Source, Status) as shared
// strings in pkg, with Line; the name, version and synopsis as bytes, valid
// until fn returns. A caller that keeps a few of them pays for their
// strings, not every record.
type record struct {
	pkg                     Package // Name, Version and Synopsis empty
	name, version, synopsis []byte
}

// Package returns the record as a Package of its own.
func (r *record) Package() Package {
	p := r.pkg
	p.Name, p.Version, p.Synopsis = string(r.name), string(r.version), string(r.synopsis)
	return p
}

// parseRecords is [ParseStatus] delivering records, leaving Source and
// the synopsis empty unless all is set: the source emits neither. The
// problems found are the same either way.
func parseRecords(r io.Reader, all bool, fn func(*record) error) error {
	_, _, err := parsePart(r, all, false, 0, fn)
	return err
}

// parsePart is parseRecords over a part of a status file that starts at
// the first line of a record, after its first after lines, also returning
// how many lines the file had at the part's end and whether the part
// delivered a record. rest says the part follows one that delivered a
// record: as in the parse of the whole file, it then never gives up.
func parsePart(r io.Reader, all, rest bool, after int, fn func(*record) error) (lines int, delivered bool, err error) {
	p := parser{fn: fn, all: all}
	p.sc.Init(r, "a dpkg status file")
	p.sc.After(after)
	if rest {
		p.sc.Delivered()
	}
	err = p.run()
	return p.sc.Line(), p.delivered, err
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
	// Field names are case-insensitive: compare by length first, then by
	// first letter, so the many skipped fields ("Section", "Depends") cost
	// little. Only an ASCII letter folds to these first letters in a name
	// of this many bytes.
	if len(name) == 0 {
		return fieldOther // a line starting with ':'
	}
	var f field
	switch c := name[0] | 0x20; len(name) {
	case 6: // Source, Status
		if c != 's' {
			return fieldOther
		}
		if name[1]|0x20 == 'o' {
			f = fieldSource
		} else {
			f = fieldStatus
		}
	case 7: // Package, Version
		switch c {
		case 'p':
			f = fieldPackage
		case 'v':
			f = fieldVersion
		default:
			return fieldOther
		}
	case 10:
		if c != 'm' {
			return fieldOther
		}
		f = fieldMaintainer
	case 11:
		if c != 'd' {
			return fieldOther
		}
		f = fieldDescription
	case 12:
		if c != 'a' {
			return fieldOther
		}
		f = fieldArchitecture
	default:
		return fieldOther
	}
	if strings.EqualFold(string(name), f.String()) {
		return f
	}
	return fieldOther
}

type parser struct {
	sc     recfile.Scanner
	fn     func(*record) error
	all    bool // fill Source and the synopsis
	intern recfile.Interner
	last   Package // the shared fields of the last record that had them

	// The record being read; its buffers are reused by the next.
	cur     record
	seen    uint16 // bit per field already read in cur
	open    bool   // cur has at least one field
	dropped bool   // cur's Package field was unusable: drop the record

	delivered bool // a record was delivered
}

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
	switch line[0] {
	case ' ', '\t':
		if !p.open {
			p.sc.Problem("continuation line outside a record")
		}
		return nil
	case '#':
		// deb822 comment; dpkg does not write them, but they are harmless.
		return nil
	}
	if p.sc.HasNUL() { // bytes.IndexByte(line, 0) >= 0, cheaper
		p.sc.Problem("binary data (NUL byte)")
		return nil
	}
	colon, valid := fieldName(line)
	if colon < 0 {
		p.sc.Problem(fmt.Sprintf("not a field: %s", recfile.Quote(line)))
		return nil
	}
	name := line[:colon]
	// A kept field's name is ASCII letters (see fieldOf), and valid.
	f := fieldOf(name)
	if f == fieldOther && !valid {
		p.sc.Problem(fmt.Sprintf("bad field name %s", recfile.Quote(name)))
		return nil
	}
	if f == fieldPackage && p.seen&(1<<fieldPackage) != 0 {
		p.sc.Problem("Package field repeats without a blank line before it; taken as a new record")
		if err := p.finish(); err != nil {
			return err
		}
	}
	if !p.open {
		p.cur.pkg.Line = p.sc.Line()
		p.open = true
	}
	if f == fieldOther {
		return nil
	}
	if p.seen&(1<<f) != 0 {
		p.sc.Problem(fmt.Sprintf("duplicate %s field ignored", f))
		return nil
	}
	p.seen |= 1 << f
	if long {
		p.sc.Problem(fmt.Sprintf("%s field longer than %d bytes", f, MaxLine))
		if f == fieldPackage {
			p.dropped = true
		}
		return nil
	}
	value := trimBlanks(line[colon+1:])
	switch f {
	case fieldPackage:
		if !validPackageName(value) {
			p.sc.Problem(fmt.Sprintf("bad package name %s", recfile.Quote(value)))
			p.dropped = true
			return nil
		}
		p.cur.name = append(p.cur.name[:0], value...)
	case fieldVersion:
		p.cur.version = append(p.cur.version[:0], value...)
	case fieldArchitecture:
		p.cur.pkg.Architecture = p.share(&p.last.Architecture, value)
	case fieldMaintainer:
		p.cur.pkg.Maintainer = p.share(&p.last.Maintainer, value)
	case fieldSource:
		if p.all {
			p.cur.pkg.Source = p.share(&p.last.Source, value)
		}
	case fieldStatus:
		p.cur.pkg.Status = p.share(&p.last.Status, value)
	case fieldDescription:
		if p.all {
			p.cur.synopsis = append(p.cur.synopsis[:0], value...)
		}
	}
	return nil
}

// share returns value as a string shared between records: the one in
// *last, the field's in the record before, when it is the same (records
// in a row mostly share their architecture, status and maintainer), or
// else the interner's, which becomes *last.
func (p *parser) share(last *string, value []byte) string {
	if string(value) != *last {
		*last = p.intern.String(value)
	}
	return *last
}

// finish ends the current record, delivering it when it is good.
func (p *parser) finish() error {
	if !p.open {
		return nil
	}
	dropped, named := p.dropped, p.seen&(1<<fieldPackage) != 0
	p.seen, p.open, p.dropped = 0, false, false
	cur := &p.cur
	defer func() {
		cur.pkg = Package{}
		cur.name, cur.version, cur.synopsis = cur.name[:0], cur.version[:0], cur.synopsis[:0]
	}()
	switch {
	case dropped:
		return nil // already reported
	case !named:
		p.sc.ProblemAt(cur.pkg.Line, "record without a Package field")
		return nil
	}
	p.sc.Delivered()
	p.delivered = true
	return p.fn(cur)
}

// trimBlanks returns b without leading and trailing spaces and tabs.
func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// fieldName finds the colon that ends a line's field name, in the same
// pass checking that the name is a deb822 field name (printable ASCII without
// spaces or colons, not starting with '#' or '-'): field lines are short,
// and most of a status file, so one loop beats two searches. colon is -1
// when the line has none.
func fieldName(line []byte) (colon int, valid bool) {
	valid = len(line) > 0 && line[0] != '-' && line[0] != '#' && line[0] != ':'
	for i, c := range line {
		switch {
		case c == ':':
			return i, valid
		case c <= ' ' || c > '~':
			valid = false
		}
	}
	return -1, false
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
