package recfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// scanned is what a scanner made of one input: each line with whether it
// was long and held a NUL, then how the scan ended.
type scanned struct {
	lines []string
	err   string
	atEOF bool
}

// scanByBufio reads in with the Scanner as it was before it kept its own
// buffer: bufio.Reader.ReadSlice over a MaxLine buffer, the line's NULs
// found by bytes.IndexByte. The Scanner must read every input alike.
func scanByBufio(r io.Reader) scanned {
	br := bufio.NewReaderSize(r, MaxLine)
	var out scanned
	for {
		line, err := br.ReadSlice('\n')
		long := false
		if err == bufio.ErrBufferFull {
			long = true
			head := string(line[:headLen])
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			line = []byte(head)
		}
		switch {
		case err == io.EOF && len(line) == 0 && !long:
			out.atEOF = true
			return out
		case err == io.EOF:
		case err != nil:
			out.err = fmt.Sprintf("reading after line %d: %v", len(out.lines), err)
			return out
		}
		if !long {
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		out.lines = append(out.lines, fmt.Sprintf("%q long=%v nul=%v", line, long, bytes.IndexByte(line, 0) >= 0))
	}
}

// scanByScanner reads in with the Scanner. It asks HasNUL of some lines
// only, as parsers do (not of blank or continuation lines).
func scanByScanner(r io.Reader) scanned {
	s := new(Scanner).Init(r, "a test file")
	var out scanned
	for s.Scan() {
		b := s.Bytes()
		nul := bytes.IndexByte(b, 0) >= 0
		if len(b) == 0 || b[0] != ' ' {
			nul = s.HasNUL()
			if again := s.HasNUL(); again != nul {
				panic("HasNUL changed its answer")
			}
		}
		out.lines = append(out.lines, fmt.Sprintf("%q long=%v nul=%v", b, s.Long(), nul))
	}
	out.atEOF = s.AtEOF()
	if err := s.Err(); err != nil {
		out.err = err.Error()
	}
	return out
}

// randomRecords returns input made of lines of many lengths: short
// fields, continuation lines, blank ones, lines just under, at and over
// MaxLine, CRLF ends, NULs here and there, and sometimes no final line end.
func randomRecords(rng *rand.Rand) []byte {
	var b bytes.Buffer
	for n := rng.IntN(400); n > 0; n-- {
		switch rng.IntN(10) {
		case 0:
			b.WriteString("\n")
		case 1:
			b.WriteString(" continuation line\n")
		case 2:
			size := MaxLine - 3 + rng.IntN(6)
			if rng.IntN(4) == 0 {
				size = MaxLine*2 + rng.IntN(MaxLine)
			}
			b.Write(bytes.Repeat([]byte{'x'}, size))
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, "Field-%d: value %d", rng.IntN(50), rng.Int())
			if rng.IntN(20) == 0 {
				b.WriteByte(0)
			}
			if rng.IntN(8) == 0 {
				b.WriteString("\r")
			}
			b.WriteString("\n")
		}
	}
	if rng.IntN(3) == 0 {
		b.WriteString("Last: without a line end")
	}
	return b.Bytes()
}

// readers are the ways a file may hand over its bytes.
var readers = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one_byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"half", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
	{"data_and_eof", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
	{"read_error", func(b []byte) io.Reader {
		return io.MultiReader(bytes.NewReader(b), iotest.ErrReader(errors.New("disk on fire")))
	}},
	{"empty_reads", func(b []byte) io.Reader { return &stutter{r: bytes.NewReader(b)} }},
}

// stutter returns nothing, without an error, every other read.
type stutter struct {
	r    io.Reader
	skip bool
}

func (s *stutter) Read(p []byte) (int, error) {
	if s.skip = !s.skip; s.skip {
		return 0, nil
	}
	return s.r.Read(p)
}

func TestScannerReadsAsBufioDid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := [][]byte{nil, []byte("\n"), []byte("a"), []byte("a\x00b\n\x00\n"), bytes.Repeat([]byte{0}, MaxLine+5)}
	for range 25 {
		inputs = append(inputs, randomRecords(rng))
	}
	for i, in := range inputs {
		for _, rd := range readers {
			want, got := scanByBufio(rd.wrap(in)), scanByScanner(rd.wrap(in))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("input %d (%d bytes), %s reader:\ngot  %.2000v\nwant %.2000v", i, len(in), rd.name, got, want)
			}
		}
	}
}

// A reader that only ever returns nothing fails the scan rather than
// spinning.
func TestScannerNoProgress(t *testing.T) {
	got := scanByScanner(&stutter{r: iotest.ErrReader(nil), skip: true})
	if want := scanByBufio(&stutter{r: iotest.ErrReader(nil), skip: true}); fmt.Sprint(got) != fmt.Sprint(want) || got.err == "" {
		t.Errorf("got %v, want %v (an error)", got, want)
	}
}

func FuzzScannerReadsAsBufioDid(f *testing.F) {
	f.Add([]byte("Package: kesl\r\nStatus: install ok installed\n\n \x00\nA\x00: b"), uint8(0))
	f.Add([]byte("a\nb"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, how uint8) {
		rd := readers[int(how)%len(readers)]
		want, got := scanByBufio(rd.wrap(in)), scanByScanner(rd.wrap(in))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s reader:\ngot  %v\nwant %v", rd.name, got, want)
		}
	})
}
