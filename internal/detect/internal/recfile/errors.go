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
