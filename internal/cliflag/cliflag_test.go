package cliflag

import (
	"bytes"
	"flag"
	"io"
	"testing"
	"time"
)

func TestWriteFlags(t *testing.T) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("format", "table", "output format")
	fs.String("output", "", "write the report to `FILE`")
	fs.Bool("verbose", false, "log what each source does")
	fs.Int("workers", 0, "how many at once")
	fs.Duration("timeout", 30*time.Second, "per source")
	var b bytes.Buffer
	WriteFlags(&b, fs)
	want := `
Flags:
  --format FORMAT
      output format (default table)
  --output FILE
      write the report to FILE
  --timeout DURATION
      per source (default 30s)
  --verbose
      log what each source does
  --workers INT
      how many at once
`
	if b.String() != want {
		t.Errorf("WriteFlags:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	WriteFlags(&b, flag.NewFlagSet("version", flag.ContinueOnError))
	if b.Len() != 0 {
		t.Errorf("no flags wrote %q", b.String())
	}
}

func TestDoubleDash(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"flag provided but not defined: -x", "flag provided but not defined: --x"},
		{"invalid value \"x\" for flag -format: bad", "invalid value \"x\" for flag --format: bad"},
		{"flag needs an argument: -output", "flag needs an argument: --output"},
		{"flag provided but not defined: --x", "flag provided but not defined: --x"},
		{"no dash here", "no dash here"},
	} {
		if got := DoubleDash(tc.in); got != tc.want {
			t.Errorf("DoubleDash(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
