package dpkg

import (
	"bytes"
	"errors"
	"io"
	"runtime"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/internal/recfile"
	"github.com/avscout/avscout/internal/safefs"
)

// splitMin is the size from which a status file is parsed in two parts at
// once, on two CPUs: about 13,000 packages. A desktop's or a server's
// (1,000 to 5,000 packages, under 4 MiB) is parsed whole, since a second
// goroutine costs more than it saves there; a build farm's or a mirror's
// can hold 100,000 (60 MiB), whose parse is most of a scan.
const splitMin = 8 << 20

// splitWindow is how far past the middle of the file a blank line, where
// a record ends, is looked for. dpkg's records are a few hundred bytes to
// a few KiB; a file with none that long in its middle is parsed whole.
const splitWindow = 64 << 10

// Forker is a [Filter] that can make another for a second goroutine, each
// being used by one goroutine at a time: a large status file is parsed in
// two parts at once, each part asking its own filter.
type Forker interface {
	Filter
	// Fork returns a filter that answers as this one does.
	Fork() Filter
	// Join takes into this filter what a fork of it counted (the records
	// it said no to), once the source has used the fork's answers; a fork
	// whose answers the source drops is not joined.
	Join(fork Filter)
}

// held is a record of the second part that the filter keeps, held until
// the first part has been emitted: its line counts from the part's start.
type held struct {
	r     record
	st    detect.Status
	known bool
}

// maxHeld bounds the records the second part holds: those the scan's
// filter keeps (a handful) and those of a Status dpkg does not write,
// which the source always emits. A file of more (a hostile one: 32 MiB of
// unknown states held 410 MiB) has its second part parsed again after the
// first, in turn.
const maxHeld = 1024

// errTooMany stops the second part's parse at maxHeld records.
var errTooMany = errors.New("too many records held")

// parseSplit is parseRecords over the status file f, its second half
// parsed by another goroutine at the same time as the first, when the
// machine has two CPUs or more and the file a record boundary near its
// middle. Its outcome is that of parsing the file whole: the same
// observations in the same order, and the same problems at the same line
// numbers (the second part's records that the filter keeps, a handful,
// wait for the first part to end, which tells how many lines it had).
//
//   - The second part starts just after a blank line, at a record's first
//     line, and never gives up (see [recfile.Scanner.Delivered]): the
//     first part, which is not empty, decides whether the file is a status
//     file at all, as it would in one parse.
//   - When the first part gives up or cannot be read, what the second part
//     found is dropped: one parse would have stopped there. When it
//     delivers no record, one parse may give up in the second part or
//     not: the file is parsed again whole (the first part emitted
//     nothing).
//   - When the second part cannot be read through, holds more than
//     maxHeld records or panics, it is parsed again after the first, on
//     the source's goroutine, numbering its lines from there: one parse's
//     error, or panic, is then the outcome.
//   - The file is read as it was when opened ([safefs.File.ReadAt]), also
//     if it grows meanwhile; dpkg replaces its status file rather than
//     write into it.
//
// On a 2-core VM the source read a status file of 100,000 packages in
// 29-30 ms parsed whole and in 16 ms in two parts, with 5 ms more CPU
// (BenchmarkCollectFiltered100k and ...Whole, 5 runs each).
func (c *collector) parseSplit(f *safefs.File, name string, skip journal, fork Forker, fn func(*record) error) error {
	at, ok := splitAt(f, f.Size())
	if !ok || runtime.GOMAXPROCS(0) < 2 {
		return parseRecords(f, false, fn)
	}
	type result struct {
		kept  []held
		err   error
		again bool // parse the part again: its result is not one parse's
	}
	done := make(chan result, 1)
	filter := fork.Fork()
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{again: true} // to panic again where the runner recovers
			}
			done <- res
		}()
		var key []byte
		_, _, res.err = parsePart(io.NewSectionReader(f, at, f.Size()-at), false, true, 0, func(r *record) error {
			if st, known, ok := skip.wanted(r, filter, &key); ok {
				if len(res.kept) == maxHeld {
					return errTooMany
				}
				res.kept = append(res.kept, held{r: r.clone(), st: st, known: known})
			}
			return nil
		})
		if _, problems := res.err.(*recfile.ParseError); res.err != nil && !problems {
			res = result{again: true}
		}
	}()
	lines, delivered, err := parsePart(io.NewSectionReader(f, 0, at), false, false, 0, fn)
	rest := <-done
	first, problemsOnly := err.(*recfile.ParseError)
	switch {
	case err != nil && !problemsOnly, first != nil && first.GaveUpAt > 0:
		return err // one parse stops here too
	case !delivered:
		// No record in the first part: one parse may give up in the
		// second, or not. The first part emitted nothing: parse the file
		// whole.
		return parseRecords(io.NewSectionReader(f, 0, f.Size()), false, fn)
	case rest.again:
		_, _, err := parsePart(io.NewSectionReader(f, at, f.Size()-at), false, true, lines, fn)
		return joinParts(first, err, 0)
	}
	fork.Join(filter)
	for i := range rest.kept {
		h := &rest.kept[i]
		h.r.pkg.Line += lines
		c.emitRecord(&h.r, name, h.st, h.known)
	}
	return joinParts(first, rest.err, lines)
}

// joinParts returns the error of a parse of the whole file from those of
// its two parts, the first read through: the first part's problems, and
// the second's, its lines moved by shift, and what else the second part
// failed with (a read error), in the order of [recfile.Scanner.Err].
func joinParts(first *recfile.ParseError, second error, shift int) error {
	var problems *recfile.ParseError
	var others []error
	switch e := second.(type) {
	case nil:
	case *recfile.ParseError:
		problems = e
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			if p, ok := x.(*recfile.ParseError); ok {
				problems = p
			} else {
				others = append(others, x)
			}
		}
	default:
		others = append(others, second)
	}
	all := nilIfEmpty(recfile.Join(first, problems, shift))
	if len(others) == 0 {
		return all // a *ParseError alone, as one parse returns it
	}
	return errors.Join(append(others, all)...)
}

// nilIfEmpty is e as an error, nil (not a nil *ParseError) when e is.
func nilIfEmpty(e *recfile.ParseError) error {
	if e == nil {
		return nil
	}
	return e
}

// splitAt returns the offset just past the first blank line ("\n\n") at
// or after the middle of the size bytes of r, where a record starts; ok
// is false when there is none within splitWindow bytes.
func splitAt(r io.ReaderAt, size int64) (int64, bool) {
	mid := size / 2
	buf := make([]byte, min(splitWindow, size-mid))
	n, err := r.ReadAt(buf, mid)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	i := bytes.Index(buf[:n], []byte("\n\n"))
	if i < 0 || mid+int64(i)+2 >= size {
		return 0, false
	}
	return mid + int64(i) + 2, true
}

// clone returns r with buffers of its own.
func (r *record) clone() record {
	return record{pkg: r.pkg, name: bytes.Clone(r.name), version: bytes.Clone(r.version), synopsis: bytes.Clone(r.synopsis)}
}
