// Package plist decodes property lists — binary ("bplist00"), XML and
// OpenStep text — read from files that anyone may have planted, within
// budgets.
//
// It exists because howett.net/plist, which avscout used before, expands
// a binary plist's shared references without limit: 641 bytes of arrays
// that each refer twice to the one below decode into 2^60 values, and an
// XML plist nested a million levels deep costs half a gigabyte, with no
// way to stop either from outside. Here every decode is bounded by
// [Limits] on nesting depth, on the values produced (each reference
// followed counts, so shared objects cannot expand unseen) and on the
// bytes of strings and data produced, and runs in time linear in its
// input: a limit that trips is an error wrapping [ErrLimit] that names it.
//
// The binary format is decoded from its documented layout (the comment at
// the top of CFBinaryPList.c in Apple's CF sources: header, objects,
// offset table, 32-byte trailer); the XML form with encoding/xml, which
// expands no entities; the OpenStep form by a small parser. Values come
// out as string, int64 (negative, or a signed binary integer), uint64,
// float64, bool, time.Time, []byte, []any, map[string]any, and nil for a
// binary null. The package knows no plist schema.
package plist

import (
	"bytes"
	"errors"
	"fmt"
)

// Errors.
var (
	// ErrMalformed means the input is not a well-formed property list of
	// the form it claims to be.
	ErrMalformed = errors.New("malformed property list")
	// ErrLimit means decoding stopped at one of the [Limits]; the error is
	// a *[LimitError] saying which.
	ErrLimit = errors.New("property list over a limit")
)

// Limits bound one decode. A zero field means the default's.
type Limits struct {
	// MaxDepth bounds the nesting of arrays and dictionaries.
	MaxDepth int
	// MaxValues bounds the values produced, every reference followed
	// counting once: an object shared a million times costs a million.
	MaxValues int
	// MaxBytes bounds the bytes of the strings, keys and data produced.
	MaxBytes int64
}

// Default limits: far above any real Info.plist, receipt, launchd job or
// system extension database (depth under 10, a few thousand values), far
// below what would hurt the agent (a million values cost tens of MiB and
// milliseconds).
const (
	DefaultMaxDepth  = 128
	DefaultMaxValues = 1 << 20
	DefaultMaxBytes  = 32 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// LimitError says which limit a decode reached.
type LimitError struct {
	Form  string // "binary", "XML" or "OpenStep"
	What  string // "depth", "values" or "bytes"
	Limit int64
}

func (e *LimitError) Error() string {
	switch e.What {
	case "depth":
		return fmt.Sprintf("%s property list nested deeper than %d levels", e.Form, e.Limit)
	case "values":
		return fmt.Sprintf("%s property list expands to more than %d values (shared references count each time they are followed)", e.Form, e.Limit)
	}
	return fmt.Sprintf("%s property list holds more than %d bytes of strings and data", e.Form, e.Limit)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// budget counts what a decode has produced.
type budget struct {
	form   string
	lim    Limits
	values int
	bytes  int64
}

// value counts one more value.
func (b *budget) value() error {
	if b.values++; b.values > b.lim.MaxValues {
		return &LimitError{Form: b.form, What: "values", Limit: int64(b.lim.MaxValues)}
	}
	return nil
}

// reserve says whether n more values fit, without counting them: a
// collection is allocated only when its elements may all be decoded.
func (b *budget) reserve(n uint64) error {
	if n > uint64(b.lim.MaxValues-b.values) {
		return &LimitError{Form: b.form, What: "values", Limit: int64(b.lim.MaxValues)}
	}
	return nil
}

// data counts n bytes of strings or data.
func (b *budget) data(n int) error {
	if b.bytes += int64(n); b.bytes > b.lim.MaxBytes {
		return &LimitError{Form: b.form, What: "bytes", Limit: b.lim.MaxBytes}
	}
	return nil
}

// depth checks the nesting level d.
func (b *budget) depth(d int) error {
	if d > b.lim.MaxDepth {
		return &LimitError{Form: b.form, What: "depth", Limit: int64(b.lim.MaxDepth)}
	}
	return nil
}

// Decode decodes the property list b, in whichever of the three forms it
// is written, within lim. Errors wrap [ErrMalformed] or [ErrLimit].
func Decode(b []byte, lim Limits) (any, error) {
	lim = lim.withDefaults()
	switch {
	case bytes.HasPrefix(b, []byte("bplist")):
		return decodeBinary(b, lim)
	case len(b) == 0:
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	case looksXML(b):
		return decodeXML(b, lim)
	}
	return decodeText(b, lim)
}

// looksXML reports whether b starts, after a byte-order mark and blanks,
// with a '<': an XML declaration, a doctype or an element. (An OpenStep
// plist never starts with data.)
func looksXML(b []byte) bool {
	switch {
	case bytes.HasPrefix(b, []byte{0xef, 0xbb, 0xbf}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xff, 0xfe}), bytes.HasPrefix(b, []byte{0xfe, 0xff}):
		return true // UTF-16: only XML is written so
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}
