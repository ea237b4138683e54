package recfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"
)

// line is what a Scanner returns for one line.
type line struct {
	Text string
	Long bool
}

// scanAll returns every line a Scanner reads from r, checking that the
// line numbers count from 1 without a gap.
func scanAll(t *testing.T, r io.Reader) ([]line, *Scanner) {
	t.Helper()
	s := new(Scanner).Init(r, "a test file")
	if s.Line() != 0 {
		t.Errorf("Line() before the first Scan = %d", s.Line())
	}
	var got []line
	for s.Scan() {
		got = append(got, line{string(s.Bytes()), s.Long()})
		if s.Line() != len(got) {
			t.Errorf("line %q numbered %d, want %d", s.Bytes(), s.Line(), len(got))
		}
	}
	return got, s
}

func TestScanner(t *testing.T) {
	digits := strings.Repeat("0123456789", MaxLine/10+1) // longer than MaxLine
	head := digits[:headLen]
	tests := []struct {
		name string
		in   string
		want []line
	}{
		{name: "empty", in: ""},
		{name: "one_empty_line", in: "\n", want: []line{{}}},
		{name: "lines", in: "a\nbc\n", want: []line{{Text: "a"}, {Text: "bc"}}},
		{name: "no_final_newline", in: "a\nbc", want: []line{{Text: "a"}, {Text: "bc"}}},
		{name: "blank_lines_kept", in: "\na\n\n \n\t\n", want: []line{{}, {Text: "a"}, {}, {Text: " "}, {Text: "\t"}}},
		{name: "crlf", in: "a\r\nbc\r\n\r\n", want: []line{{Text: "a"}, {Text: "bc"}, {}}},
		{name: "crlf_no_final_newline", in: "a\r\nbc", want: []line{{Text: "a"}, {Text: "bc"}}},
		{name: "mixed_line_ends", in: "a\nb\r\nc\n", want: []line{{Text: "a"}, {Text: "b"}, {Text: "c"}}},
		{name: "cr_inside_line_kept", in: "a\rb\n", want: []line{{Text: "a\rb"}}},
		{name: "only_one_cr_dropped", in: "a\r\r\n", want: []line{{Text: "a\r"}}},
		{name: "final_cr_without_lf_dropped", in: "a\r", want: []line{{Text: "a"}}},
		{name: "nul_bytes_kept", in: "a\x00b\n\x00\n\x00", want: []line{{Text: "a\x00b"}, {Text: "\x00"}, {Text: "\x00"}}},
		{name: "non_utf8_kept", in: "\xff\xfe\n", want: []line{{Text: "\xff\xfe"}}},
		{
			name: "longest_whole_line",
			in:   digits[:MaxLine-1] + "\nb\n",
			want: []line{{Text: digits[:MaxLine-1]}, {Text: "b"}},
		},
		{
			name: "longest_whole_line_crlf",
			in:   digits[:MaxLine-2] + "\r\nb\n",
			want: []line{{Text: digits[:MaxLine-2]}, {Text: "b"}},
		},
		{
			name: "one_byte_too_long",
			in:   digits[:MaxLine] + "\nb\n",
			want: []line{{Text: head, Long: true}, {Text: "b"}},
		},
		{
			name: "one_byte_too_long_with_crlf",
			in:   digits[:MaxLine-1] + "\r\nb\n",
			want: []line{{Text: head, Long: true}, {Text: "b"}},
		},
		{
			name: "long_line_between_blank_lines",
			in:   "\n" + digits + "\n\n",
			want: []line{{}, {Text: head, Long: true}, {}},
		},
		{
			name: "line_of_several_buffers",
			in:   strings.Repeat(digits, 3) + "\r\nb",
			want: []line{{Text: head, Long: true}, {Text: "b"}},
		},
		{
			name: "long_last_line_without_newline",
			in:   "a\n" + digits,
			want: []line{{Text: "a"}, {Text: head, Long: true}},
		},
		{
			name: "long_lines_in_a_row",
			in:   digits + "\n" + digits + "\n",
			want: []line{{Text: head, Long: true}, {Text: head, Long: true}},
		},
	}
	for _, tt := range tests {
		for _, rd := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"half_reads", iotest.HalfReader},
			{"one_byte_reads", iotest.OneByteReader},
		} {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, s := scanAll(t, rd.r(strings.NewReader(tt.in)))
				if !equalLines(got, tt.want) {
					t.Errorf("got  %s\nwant %s", show(got), show(tt.want))
				}
				if !s.AtEOF() || s.Err() != nil {
					t.Errorf("AtEOF %v, Err %v; want true, nil", s.AtEOF(), s.Err())
				}
				if s.Scan() {
					t.Error("Scan after the end returned true")
				}
			})
		}
	}
}

func equalLines(a, b []line) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// show prints lines shortened, for failure messages.
func show(lines []line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(Quote([]byte(l.Text)))
		if l.Long {
			b.WriteString("(long)")
		}
		b.WriteString(" ")
	}
	return b.String()
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	long := strings.Repeat("x", MaxLine+10)
	tests := []struct {
		name    string
		in      string
		want    []line
		wantMsg string
	}{
		// A line cut by the error is not returned.
		{"mid_line", "a\nb", []line{{Text: "a"}}, "reading after line 1: disk on fire"},
		{"after_newline", "a\n", []line{{Text: "a"}}, "reading after line 1: disk on fire"},
		{"at_once", "", nil, "reading after line 0: disk on fire"},
		{"in_long_line", "a\n" + long, []line{{Text: "a"}}, "reading after line 1: disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, s := scanAll(t, io.MultiReader(strings.NewReader(tt.in), iotest.ErrReader(boom)))
			if !equalLines(got, tt.want) {
				t.Errorf("got  %s\nwant %s", show(got), show(tt.want))
			}
			err := s.Err()
			if s.AtEOF() || !errors.Is(err, boom) || err.Error() != tt.wantMsg {
				t.Errorf("AtEOF %v, Err %v; want false, %q", s.AtEOF(), err, tt.wantMsg)
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				t.Errorf("no problems, but Err holds %v", pe)
			}
		})
	}
}

func TestScannerReadErrorKeepsProblems(t *testing.T) {
	boom := errors.New("disk on fire")
	s := new(Scanner).Init(io.MultiReader(strings.NewReader("junk\nok\n"), iotest.ErrReader(boom)), "a test file")
	for s.Scan() {
		if string(s.Bytes()) == "junk" {
			s.Problem("junk")
		}
	}
	err := s.Err()
	var pe *ParseError
	if !errors.Is(err, boom) || !errors.As(err, &pe) || pe.Count != 1 || pe.GaveUpAt != 0 {
		t.Fatalf("got %v, want %v joined with one problem", err, boom)
	}
	if want := "reading after line 2: disk on fire\nline 1: junk"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestScannerProblems(t *testing.T) {
	tests := []struct {
		name        string
		lines       int
		problemAt   func(n int) bool // which lines get a problem
		deliverAt   int              // line after which a record is delivered; 0 for none
		wantLines   int              // lines read
		wantEOF     bool
		wantCount   int
		wantGaveUp  int
		wantMsgHead string
	}{
		{
			name: "none", lines: 5, problemAt: func(int) bool { return false },
			wantLines: 5, wantEOF: true,
		},
		{
			name: "one", lines: 5, problemAt: func(n int) bool { return n == 3 },
			wantLines: 5, wantEOF: true, wantCount: 1, wantMsgHead: "line 3: bad",
		},
		{
			name: "more_than_kept", lines: 20, problemAt: func(n int) bool { return n > 5 },
			deliverAt: 1, wantLines: 20, wantEOF: true, wantCount: 15,
			wantMsgHead: "15 problems: line 6: bad; line 7: bad",
		},
		{
			name: "gives_up_before_a_record", lines: 1000, problemAt: func(int) bool { return true },
			wantLines: GiveUpAfter, wantCount: GiveUpAfter, wantGaveUp: GiveUpAfter,
			wantMsgHead: "not a test file (gave up at line 100): 100 problems: line 1: bad",
		},
		{
			name: "gives_up_past_good_lines", lines: 1000, problemAt: func(n int) bool { return n%2 == 0 },
			wantLines: 2 * GiveUpAfter, wantCount: GiveUpAfter, wantGaveUp: 2 * GiveUpAfter,
			wantMsgHead: "not a test file (gave up at line 200): 100 problems: line 2: bad",
		},
		{
			// The last line is the hundredth problem: it gives up, and
			// does not report reaching the end.
			name: "gives_up_at_the_last_line", lines: GiveUpAfter, problemAt: func(int) bool { return true },
			wantLines: GiveUpAfter, wantCount: GiveUpAfter, wantGaveUp: GiveUpAfter,
			wantMsgHead: "not a test file (gave up at line 100)",
		},
		{
			name: "never_gives_up_after_a_record", lines: 1000, problemAt: func(n int) bool { return n != 50 },
			deliverAt: 50, wantLines: 1000, wantEOF: true, wantCount: 999,
			wantMsgHead: "999 problems: line 1: bad",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := new(Scanner).Init(strings.NewReader(strings.Repeat("x\n", tt.lines)), "a test file")
			n := 0
			for s.Scan() {
				n++
				if tt.problemAt(n) {
					s.Problem("bad")
				}
				if n == tt.deliverAt {
					s.Delivered()
				}
			}
			if n != tt.wantLines || s.Line() != tt.wantLines || s.AtEOF() != tt.wantEOF {
				t.Errorf("read %d lines (Line %d), AtEOF %v; want %d, %v", n, s.Line(), s.AtEOF(), tt.wantLines, tt.wantEOF)
			}
			err := s.Err()
			if tt.wantCount == 0 {
				if err != nil {
					t.Errorf("Err() = %v, want nil", err)
				}
				return
			}
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("Err() = %v (%T), want a *ParseError", err, err)
			}
			if pe.Count != tt.wantCount || len(pe.Problems) != min(tt.wantCount, MaxProblems) || pe.GaveUpAt != tt.wantGaveUp {
				t.Errorf("Count %d, %d kept, GaveUpAt %d; want %d, %d, %d",
					pe.Count, len(pe.Problems), pe.GaveUpAt, tt.wantCount, min(tt.wantCount, MaxProblems), tt.wantGaveUp)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsgHead) {
				t.Errorf("message %q, want prefix %q", err, tt.wantMsgHead)
			}
		})
	}
}

func TestScannerProblemAt(t *testing.T) {
	s := new(Scanner).Init(strings.NewReader("a\nb\nc\n"), "a test file")
	for s.Scan() {
	}
	s.ProblemAt(2, "record without a name")
	var se *SyntaxError
	if err := s.Err(); !errors.As(err, &se) || se.Line != 2 || err.Error() != "line 2: record without a name" {
		t.Errorf("got %v", err)
	}
}

func TestParseErrorMessage(t *testing.T) {
	p := func(line int, msg string) *SyntaxError { return &SyntaxError{Line: line, Msg: msg} }
	tests := []struct {
		name string
		err  *ParseError
		want string
	}{
		{"one", &ParseError{Problems: []*SyntaxError{p(3, "bad")}, Count: 1}, "line 3: bad"},
		{"two", &ParseError{Problems: []*SyntaxError{p(1, "a"), p(2, "b")}, Count: 2}, "2 problems: line 1: a; line 2: b"},
		{"more_than_kept", &ParseError{Problems: []*SyntaxError{p(1, "a")}, Count: 6}, "6 problems: line 1: a; and 5 more"},
		{
			"gave_up",
			&ParseError{Problems: []*SyntaxError{p(1, "a")}, Count: 1, GaveUpAt: 100, format: "a dpkg status file"},
			"not a dpkg status file (gave up at line 100): line 1: a",
		},
		{"gave_up_unnamed_format", &ParseError{Problems: []*SyntaxError{p(7, "x")}, Count: 1, GaveUpAt: 7}, "not a record file (gave up at line 7): line 7: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseErrorUnwrap(t *testing.T) {
	first, second := &SyntaxError{Line: 1, Msg: "a"}, &SyntaxError{Line: 9, Msg: "b"}
	var err error = &ParseError{Problems: []*SyntaxError{first, second}, Count: 2}
	var se *SyntaxError
	if !errors.As(err, &se) || se != first {
		t.Errorf("errors.As(*SyntaxError) = %v, want the first problem", se)
	}
	if !errors.Is(err, second) {
		t.Error("errors.Is does not find the second problem")
	}
}

func TestIsBlank(t *testing.T) {
	for in, want := range map[string]bool{
		"": true, " ": true, "\t": true, " \t \t": true,
		"x": false, " x": false, "\r": false, "\x00": false, "\v": false,
	} {
		if got := IsBlank([]byte(in)); got != want {
			t.Errorf("IsBlank(%q) = %v", in, got)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"two words", `"two words"`},
		{"a\x00\"b", `"a\x00\"b"`},
		{strings.Repeat("x", 40), `"` + strings.Repeat("x", 40) + `"`},
		{strings.Repeat("x", 41), `"` + strings.Repeat("x", 40) + `"…`},
	}
	for _, tt := range tests {
		if got := Quote([]byte(tt.in)); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestInterner(t *testing.T) {
	var in Interner
	a := in.String([]byte("amd64"))
	b := in.String([]byte("amd64"))
	if a != "amd64" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("%q and %q are not one string", a, b)
	}
	if n := testing.AllocsPerRun(100, func() { in.String([]byte("amd64")) }); n != 0 {
		t.Errorf("a known string costs %v allocations", n)
	}
	// Past the bound, strings are still right, only no longer shared.
	for i := range maxInterned + 10 {
		in.String([]byte(strings.Repeat("x", i+1)))
	}
	if len(in.m) != maxInterned {
		t.Errorf("table holds %d strings, want at most %d", len(in.m), maxInterned)
	}
	if got := in.String([]byte("new")); got != "new" {
		t.Errorf("got %q", got)
	}
}

func TestContextReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := ContextReader(ctx, strings.NewReader("abc"))
	buf := make([]byte, 2)
	if n, err := r.Read(buf); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	cancel()
	if n, err := r.Read(buf); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel = %d, %v", n, err)
	}
}

// FuzzScanner checks the Scanner against a plain reading of the input,
// with reads of every size.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"", "\n", "\r\n", "\r", "a", "a\nb", "a\r\nb\r\n", "\n\n \n", "a\r\r\n", "\x00\n",
		strings.Repeat("x", MaxLine-1) + "\n", strings.Repeat("x", MaxLine) + "\n",
		strings.Repeat("x", MaxLine), strings.Repeat("y", 2*MaxLine+3) + "\r\nz",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := plainLines(data)
		for _, r := range []io.Reader{
			bytes.NewReader(data),
			iotest.HalfReader(bytes.NewReader(data)),
			iotest.OneByteReader(bytes.NewReader(data)),
		} {
			got, s := scanAll(t, r)
			if !equalLines(got, want) {
				t.Fatalf("got  %s\nwant %s", show(got), show(want))
			}
			if !s.AtEOF() || s.Err() != nil {
				t.Fatalf("AtEOF %v, Err %v", s.AtEOF(), s.Err())
			}
		}
	})
}

// plainLines splits data as a Scanner should: a line is at most MaxLine
// bytes with its line end, else only its head is kept.
func plainLines(data []byte) []line {
	var out []line
	for len(data) > 0 {
		raw := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw = data[:i+1]
		}
		data = data[len(raw):]
		if len(raw) > MaxLine || len(raw) == MaxLine && raw[len(raw)-1] != '\n' {
			out = append(out, line{Text: string(raw[:headLen]), Long: true})
			continue
		}
		text := bytes.TrimSuffix(raw, []byte("\n"))
		text = bytes.TrimSuffix(text, []byte("\r"))
		out = append(out, line{Text: string(text)})
	}
	return out
}
