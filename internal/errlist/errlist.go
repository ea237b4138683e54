// Package errlist keeps a bounded list of errors: the first few, and a
// count of the rest.
//
// It exists because many parts of the agent step over problems and go on
// (a broken bundle, an unreadable package record, a line that is not a
// field) and must still say what they stepped over without letting a
// root with ten thousand broken items make an unreadable report or an
// unbounded allocation. Each of them keeps the first N problems, counts
// the others and ends with "and N more"; [List] is that, once.
package errlist

import (
	"errors"
	"fmt"
)

// List keeps the first Max errors added to it and counts the others. The
// zero value keeps none; set Max (and What) before the first Add. A List
// is not safe for concurrent use.
type List struct {
	// Max is how many errors are kept; the rest are only counted.
	Max int
	// What names the errors in the line that counts the dropped ones:
	// "and 5 more errors" for "errors"; "" says "and 5 more".
	What string

	kept    []error
	dropped int
}

// Add records err, keeping it if fewer than Max are kept, and reports
// whether it was kept. nil is ignored (and not kept).
func (l *List) Add(err error) bool {
	switch {
	case err == nil:
		return false
	case len(l.kept) < l.Max:
		l.kept = append(l.kept, err)
		return true
	default:
		l.dropped++
		return false
	}
}

// Len is how many errors were added, kept or not.
func (l *List) Len() int { return len(l.kept) + l.dropped }

// Dropped is how many errors were added but not kept.
func (l *List) Dropped() int { return l.dropped }

// Kept returns the kept errors, in the order they were added. The slice
// is the List's own: append to a copy.
func (l *List) Kept() []error { return l.kept }

// More returns the error that counts the dropped errors, "and N more"
// followed by What; nil when none was dropped. It wraps none of them:
// they are gone.
func (l *List) More() error {
	switch {
	case l.dropped == 0:
		return nil
	case l.What == "":
		return fmt.Errorf("and %d more", l.dropped)
	default:
		return fmt.Errorf("and %d more %s", l.dropped, l.What)
	}
}

// Err joins the kept errors and, if some were dropped, [List.More] after
// them, as [errors.Join] does (one per line); nil when none was added.
// [errors.Is] and [errors.As] see through it to the kept errors.
func (l *List) Err() error {
	if l.dropped == 0 {
		return errors.Join(l.kept...)
	}
	errs := make([]error, 0, len(l.kept)+1)
	return errors.Join(append(append(errs, l.kept...), l.More())...)
}
