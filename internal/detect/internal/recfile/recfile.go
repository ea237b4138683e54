// Package recfile reads record files: the line-oriented, blank-line-separated
// formats of package databases, such as dpkg's status file (deb822 stanzas)
// and apk's installed database ("X:value" lines).
//
// It exists so that the parsers of those formats (packages dpkg and apk)
// share one reader of lines and one account of problems instead of each
// carrying a copy: a [Scanner] reads lines of bounded length, drops CRLF
// and LF line ends and numbers the lines; it keeps the problems its parser
// reports as [SyntaxError]s, gives up on input that is not the expected
// format at all, and sums up in a [*ParseError]. What makes a line a field,
// a continuation or a record of its own is each parser's business.
package recfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/avscout/avscout/internal/errlist"
)

// MaxLine is the longest line a [Scanner] reads whole, line end included.
// Longer lines are skipped (their first bytes are still returned).
const MaxLine = 64 << 10

// MaxProblems bounds how many problems a [ParseError] keeps; it still
// counts them all.
const MaxProblems = 10

// GiveUpAfter is how many problems a parse tolerates before the first good
// record: past it, the input is not the format at all.
const GiveUpAfter = 100

// headLen is how much of an over-long line a [Scanner] keeps.
const headLen = 256

// maxInterned bounds the per-parse table of an [Interner].
const maxInterned = 4096

// Scanner reads a record file line by line and keeps the problems its
// parser finds. It streams: it holds one buffer of [MaxLine] bytes,
// whatever the size of the input.
//
// A parser calls [Scanner.Init], then [Scanner.Scan] until it returns
// false; it reports problems with [Scanner.Problem] and the records it
// delivers with [Scanner.Delivered], ends its last record if
// [Scanner.AtEOF], and returns [Scanner.Err].
type Scanner struct {
	rd     io.Reader
	format string

	// buf[r:w] is what was read and not yet scanned; rerr is the error
	// that ended the last read, returned once what came before it is.
	buf  []byte
	r, w int
	rerr error
	// buf[lineAt:clean] is known to hold no NUL byte: [Scanner.HasNUL]
	// looks at each buffered byte once, not once per line.
	lineAt, clean int

	line []byte // the current line, without its line end, unless long
	long bool   // the current line is longer than MaxLine: see head
	n    int    // number of the current line, counting from 1
	err  error  // what stopped Scan: io.EOF or a read error

	delivered bool // a good record was delivered: never give up
	// slow sends Scan to its slow path for good: the input ended or
	// failed, or the parse is about to give up.
	slow     bool
	gaveUpAt int
	problems errlist.List // of *SyntaxError: the first MaxProblems, and a count

	// head holds the first bytes of an over-long line. Bytes returns it
	// rather than line pointing into it, which would move every Scanner
	// to the heap.
	head [headLen]byte
}

// Init readies s to read r, forgetting any earlier input, and returns s.
// format names what r should hold, with its article ("a dpkg status
// file"): the error of a parse that gave up says r is not that.
//
// A parser holds its Scanner by value and calls Init, rather than getting
// one from a constructor, so that a parse costs no allocation beyond the
// read buffer.
func (s *Scanner) Init(r io.Reader, format string) *Scanner {
	*s = Scanner{rd: r, buf: make([]byte, MaxLine), format: format, problems: errlist.List{Max: MaxProblems}}
	return s
}

// errLineTooLong is what readLine returns for the first MaxLine bytes of a
// longer line; the next call goes on from there.
var errLineTooLong = errors.New("line longer than the buffer")

// readLine returns the next line with its line end, as a slice of the
// buffer valid until the next call. At the end of input or a read error it
// returns what was left before it along with the error; when MaxLine bytes
// hold no line end, it returns them with errLineTooLong.
func (s *Scanner) readLine() ([]byte, error) {
	searched := 0 // of buf[r:w], which holds no line end
	for {
		if i := bytes.IndexByte(s.buf[s.r+searched:s.w], '\n'); i >= 0 {
			end := s.r + searched + i + 1
			line := s.buf[s.r:end]
			s.lineAt, s.r = s.r, end
			return line, nil
		}
		if err := s.rerr; err != nil {
			line := s.buf[s.r:s.w]
			s.lineAt, s.r, s.rerr = s.r, s.w, nil
			return line, err
		}
		if s.w-s.r == len(s.buf) {
			s.lineAt, s.r = s.r, s.w
			return s.buf, errLineTooLong
		}
		searched = s.w - s.r
		s.fill()
	}
}

// fill moves the unscanned bytes to the buffer's start and reads more
// after them: at least one byte, or an error. Like bufio's, it gives up
// with io.ErrNoProgress on a reader that keeps returning nothing.
func (s *Scanner) fill() {
	if s.r > 0 {
		copy(s.buf, s.buf[s.r:s.w])
		s.w -= s.r
		s.clean = max(s.clean-s.r, 0)
		s.r = 0
	}
	for range maxEmptyReads {
		n, err := s.rd.Read(s.buf[s.w:])
		if n < 0 || n > len(s.buf)-s.w {
			s.rerr = fmt.Errorf("reader returned %d bytes for a %d-byte buffer", n, len(s.buf)-s.w)
			return
		}
		s.w += n
		if err != nil {
			s.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	s.rerr = io.ErrNoProgress
}

// maxEmptyReads is how many reads in a row may return nothing.
const maxEmptyReads = 100

// Scan advances to the next line, which [Scanner.Bytes] then returns. It
// accepts LF and CRLF line ends and a last line without one.
//
// It returns false at the end of input ([Scanner.AtEOF]), on a read error,
// and when the parse gives up: [GiveUpAfter] problems have been reported
// and no record delivered.
func (s *Scanner) Scan() bool {
	// Most lines: a whole one already in the buffer. This much is small
	// enough to be inlined in the parser's loop; the rest is scan.
	if i := bytes.IndexByte(s.buf[s.r:s.w], '\n'); i >= 0 && !s.slow {
		line := s.buf[s.r : s.r+i]
		s.lineAt, s.r = s.r, s.r+i+1
		s.n++
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		s.line, s.long = line, false
		return true
	}
	return s.scan()
}

// scan is Scan for the lines its fast path does not take: after an
// error, when giving up, at the end of the buffer or input.
func (s *Scanner) scan() bool {
	if s.err != nil {
		return false
	}
	if s.givingUp() {
		s.gaveUpAt = s.n
		return false
	}
	line, err := s.readLine()
	long := false
	if err == errLineTooLong {
		// line is the whole buffer, MaxLine bytes: keep its head, which
		// Bytes returns, and skip the rest.
		long = true
		copy(s.head[:], line)
		for err == errLineTooLong {
			_, err = s.readLine()
		}
		line = nil
	}
	switch {
	case err == io.EOF && len(line) == 0 && !long:
		s.err, s.slow = io.EOF, true
		return false
	case err == io.EOF:
		// a last line without newline: return it, and stop at the next call
	case err != nil:
		s.err, s.slow = err, true
		return false
	}
	s.n++
	if !long {
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	s.line, s.long = line, long
	return true
}

// Bytes returns the current line without its line end. The slice is valid
// until the next call to Scan. For a line longer than [MaxLine], it holds
// only the line's first 256 bytes.
func (s *Scanner) Bytes() []byte {
	if s.long {
		return s.head[:]
	}
	return s.line
}

// HasNUL reports whether the current line, as [Scanner.Bytes] returns
// it, holds a NUL byte: binary data, which no record file has. It is
// bytes.IndexByte(s.Bytes(), 0) >= 0 at a fraction of the cost, since
// the bytes after the line, up to the next NUL, are known clean from then
// on.
func (s *Scanner) HasNUL() bool {
	if !s.long && s.lineAt+len(s.line) <= s.clean {
		return false // small enough to be inlined: most lines
	}
	return s.hasNUL()
}

func (s *Scanner) hasNUL() bool {
	if s.long {
		return bytes.IndexByte(s.head[:], 0) >= 0
	}
	start, end := s.lineAt, s.lineAt+len(s.line)
	from := max(start, s.clean)
	i := bytes.IndexByte(s.buf[from:s.w], 0)
	if i < 0 {
		s.clean = s.w
		return false
	}
	s.clean = from + i
	return s.clean < end
}

// Long reports whether the current line is longer than [MaxLine].
func (s *Scanner) Long() bool { return s.long }

// Line returns the number of the current line, counting from 1; 0 before
// the first.
func (s *Scanner) Line() int { return s.n }

// After tells s that its input is the rest of a file whose first lines
// lines were read by another Scanner: s numbers its lines, in its
// problems and errors, from lines+1.
func (s *Scanner) After(lines int) { s.n = lines }

// AtEOF reports whether Scan stopped at the end of input, rather than on a
// read error or by giving up. The parser then ends its last record.
func (s *Scanner) AtEOF() bool { return s.err == io.EOF }

// Problem reports a problem at the current line.
func (s *Scanner) Problem(msg string) { s.ProblemAt(s.n, msg) }

// ProblemAt reports a problem at a line.
func (s *Scanner) ProblemAt(line int, msg string) {
	s.problems.Add(&SyntaxError{Line: line, Msg: msg})
	if s.givingUp() {
		s.slow = true // Scan's fast path must see the parse give up
	}
}

// givingUp reports that the parse found GiveUpAfter problems before any
// good record: the input is not the format at all.
func (s *Scanner) givingUp() bool { return !s.delivered && s.problems.Len() >= GiveUpAfter }

// Delivered notes that the parser delivered a good record: the input is
// the format, and the parse no longer gives up however many problems
// follow.
func (s *Scanner) Delivered() { s.delivered = true }

// Err returns what the parse found: nil when it read to the end without a
// problem; a [*ParseError] listing the problems; or, after a read error,
// that error wrapped, joined with the problems found before it.
func (s *Scanner) Err() error {
	var problems error // a nil interface, not a nil *ParseError, when there are none
	if s.problems.Len() > 0 {
		kept := make([]*SyntaxError, len(s.problems.Kept()))
		for i, p := range s.problems.Kept() {
			kept[i] = p.(*SyntaxError)
		}
		problems = &ParseError{Problems: kept, Count: s.problems.Len(), GaveUpAt: s.gaveUpAt, format: s.format}
	}
	if s.err != nil && s.err != io.EOF {
		readErr := fmt.Errorf("reading after line %d: %w", s.n, s.err)
		return errors.Join(readErr, problems)
	}
	return problems
}

// IsBlank reports a record separator: an empty line, or one of only spaces
// and tabs (Debian policy lets parsers accept those).
func IsBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// Quote shows a piece of input in an error message, shortened.
func Quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}

// Interner shares one copy of a string between the records of a parse:
// architectures, maintainers and states repeat a lot. Its zero value is
// ready; it keeps at most 4096 strings.
type Interner struct{ m map[string]string }

// String returns b as a string, the same one for the same bytes.
func (in *Interner) String(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// ContextReader returns a reader of r that stops once ctx is done, so a
// huge or slow database cannot hold a cancelled scan. A [Scanner] reads in
// blocks of [MaxLine] bytes, so the check costs nothing.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return ctxReader{ctx, r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
