package recfile

import (
	"fmt"
	"strconv"
	"strings"
)

// SyntaxError is one problem at one line of a record file.
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
	// not look like the format at all; zero when it read to the end.
	GaveUpAt int

	format string // what the input should have been: "a dpkg status file"
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.GaveUpAt > 0 {
		format := e.format
		if format == "" {
			format = "a record file"
		}
		fmt.Fprintf(&b, "not %s (gave up at line %d): ", format, e.GaveUpAt)
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

// Join returns the problems of a file parsed in two parts: a, those of
// its first part, and b, those of the rest, whose line numbers count from
// the rest's start and are moved by shift, the first part's lines. Either
// may be nil. The problems kept are the file's first [MaxProblems]; b's
// parse is one that never gave up (see [Scanner.Delivered]), and a's may
// have.
func Join(a, b *ParseError, shift int) *ParseError {
	switch {
	case b == nil:
		return a
	case a == nil:
		a = &ParseError{format: b.format}
	}
	out := &ParseError{Count: a.Count + b.Count, GaveUpAt: a.GaveUpAt, format: a.format,
		Problems: make([]*SyntaxError, 0, min(len(a.Problems)+len(b.Problems), MaxProblems))}
	out.Problems = append(out.Problems, a.Problems...)
	for _, p := range b.Problems {
		if len(out.Problems) == MaxProblems {
			break
		}
		out.Problems = append(out.Problems, &SyntaxError{Line: p.Line + shift, Msg: p.Msg})
	}
	return out
}
