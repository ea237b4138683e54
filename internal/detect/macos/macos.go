// Package macos holds what the macOS sources (apps, receipts, launchd,
// extensions) share: reading property lists in any of Apple's formats
// with a size cap, finding files in a macOS root the way macOS would
// (case-insensitively, with absolute symbolic links resolved inside the
// root), listing directories with a bound, reading a bundle's Info.plist
// and the code signature of its main executable, and keeping a source's
// errors to a readable number.
//
// It exists so that the four sources read the same way: a binary plist
// that decodes in one decodes in all, a loop of symbolic links is caught
// everywhere, and no source can be made to read a gigabyte plist or list
// a million-entry directory. It observes nothing and knows no vendor.
// Everything here reads an [fs.FS] rooted at the target, so it runs on
// Linux against fixture roots and mounted images as it does on a Mac.
package macos

import (
	"errors"
	"slices"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/errlist"
)

// MaxErrors is how many errors [Errors] keeps; the rest are counted.
const MaxErrors = 10

// Errors collects the errors of one source run. It keeps the first
// MaxErrors and counts the others, so a root with ten thousand broken
// bundles still gives a report a person can read. Errors marked with
// [detect.Warn] (one item unreadable) stay warnings when counted: the
// count is a warning too unless an error it stands for was not. The zero
// value is ready to use.
type Errors struct {
	list errlist.List
	// droppedFailures counts the dropped errors that were not warnings.
	droppedFailures int
}

// Add records err; nil is ignored.
func (e *Errors) Add(err error) {
	e.list.Max, e.list.What = MaxErrors, "errors"
	if err != nil && !e.list.Add(err) && !detect.IsWarning(err) {
		e.droppedFailures++
	}
}

// Len is the number of errors recorded, kept or not.
func (e *Errors) Len() int { return e.list.Len() }

// Err joins the kept errors, with a last one counting those left out;
// nil when none was recorded.
func (e *Errors) Err() error {
	more := e.list.More()
	if more == nil {
		return e.list.Err()
	}
	if e.droppedFailures == 0 {
		more = detect.Warn(more)
	}
	return errors.Join(append(slices.Clone(e.list.Kept()), more)...)
}
