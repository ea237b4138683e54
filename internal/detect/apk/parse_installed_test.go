package apk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/avscout/avscout/internal/detect/internal/recfile"
	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
)

// parseAll collects every record ParseInstalled delivers.
func parseAll(r io.Reader) ([]Package, error) { return recfiletest.ParseAll(ParseInstalled, r) }

const kesl = "C:Q1aS3dF5gH7jK9lZ1xC3vB5nM7qW=\nP:kesl\nV:12.1.0.2968-r0\nA:x86_64\nT:Kaspersky Endpoint Security for Linux\no:kesl\nm:AO Kaspersky Lab <support@kaspersky.com>\nF:opt/kaspersky/kesl/bin\nR:kesl\na:0:0:755\nZ:Q1eR4tY6uI8oP0aS2dF4gH6jK8lZ=\n"

func keslPkg(line int) Package {
	return Package{
		Name: "kesl", Version: "12.1.0.2968-r0", Architecture: "x86_64",
		Maintainer: "AO Kaspersky Lab <support@kaspersky.com>", Origin: "kesl",
		Description: "Kaspersky Endpoint Security for Linux", Line: line,
	}
}

func TestParseInstalled(t *testing.T) {
	long := strings.Repeat("x", MaxLine+10)
	tests := []struct {
		name         string
		in           string
		want         []Package
		wantProblems []string
	}{
		{name: "empty", in: ""},
		{name: "only_blank_lines", in: "\n\n \n\r\n"},
		{name: "one_record", in: kesl, want: []Package{keslPkg(1)}},
		{name: "no_final_newline", in: strings.TrimSuffix(kesl, "\n"), want: []Package{keslPkg(1)}},
		{name: "crlf", in: strings.ReplaceAll(kesl+"\n"+kesl, "\n", "\r\n"), want: []Package{keslPkg(1), keslPkg(13)}},
		{name: "many_blank_lines", in: "\n\n" + kesl + "\n\n\n" + kesl, want: []Package{keslPkg(3), keslPkg(17)}},
		{
			name: "minimal_record",
			in:   "P:busybox\n",
			want: []Package{{Name: "busybox", Line: 1}},
		},
		{
			name: "empty_values_and_colons_in_values",
			in:   "P:nss-db\nV:2.37-r3\nm:\nT:a: b: c\n",
			want: []Package{{Name: "nss-db", Version: "2.37-r3", Description: "a: b: c", Line: 1}},
		},
		{
			name:         "not_a_key_value_line_keeps_record",
			in:           "P:kesl\ngarbage\nV:1\n",
			want:         []Package{{Name: "kesl", Version: "1", Line: 1}},
			wantProblems: []string{`line 2: not a key:value line: "garbage"`},
		},
		{
			name:         "dpkg_style_line_refused",
			in:           "Package: kesl\n\n" + kesl,
			want:         []Package{keslPkg(3)},
			wantProblems: []string{`line 1: not a key:value line: "Package: kesl"`},
		},
		{
			name:         "record_without_name_dropped",
			in:           "V:1\nA:x86_64\n\n" + kesl,
			want:         []Package{keslPkg(4)},
			wantProblems: []string{"line 1: record without a P: (name) line"},
		},
		{
			name:         "bad_name_dropped",
			in:           "P:two words\nV:1\n\n" + kesl,
			want:         []Package{keslPkg(4)},
			wantProblems: []string{`line 1: bad package name "two words"`},
		},
		{
			name:         "duplicate_key_keeps_first",
			in:           "P:kesl\nV:1\nV:2\n",
			want:         []Package{{Name: "kesl", Version: "1", Line: 1}},
			wantProblems: []string{"line 3: duplicate V: (version) ignored"},
		},
		{
			name:         "repeated_name_starts_new_record",
			in:           "P:kesl\nV:1\nP:klnagent64\nV:2\n",
			want:         []Package{{Name: "kesl", Version: "1", Line: 1}, {Name: "klnagent64", Version: "2", Line: 3}},
			wantProblems: []string{"line 3: P: repeats without a blank line"},
		},
		{
			name:         "nul_byte",
			in:           "P:kesl\nV:1\x00\n",
			want:         []Package{{Name: "kesl", Line: 1}},
			wantProblems: []string{"line 2: binary data (NUL byte)"},
		},
		{
			name: "huge_file_line_skipped",
			in:   "P:kesl\nR:" + long + "\nV:1\n",
			want: []Package{{Name: "kesl", Version: "1", Line: 1}},
		},
		{
			name:         "huge_kept_field",
			in:           "P:kesl\nm:" + long + "\nV:1\n",
			want:         []Package{{Name: "kesl", Version: "1", Line: 1}},
			wantProblems: []string{"line 2: m: (maintainer) longer than 65536 bytes"},
		},
		{
			name:         "huge_name",
			in:           "P:" + long + "\nV:1\n\n" + kesl,
			want:         []Package{keslPkg(4)},
			wantProblems: []string{"line 1: P: (name) longer than 65536 bytes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll(strings.NewReader(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("records:\ngot  %+v\nwant %+v", got, tt.want)
			}
			recfiletest.CheckProblems(t, err, tt.wantProblems)
		})
	}
}

// wantInstalled is the content of testdata/installed.
func wantInstalled() []Package {
	const clam = "Leonardo Arena <rnalrd@alpinelinux.org>"
	return []Package{
		{Name: "musl", Version: "1.2.4_git20230717-r4", Architecture: "x86_64", Maintainer: "Timo Teräs <timo.teras@iki.fi>", Origin: "musl", Description: "the musl c library (libc) implementation", Line: 1},
		{Name: "busybox", Version: "1.36.1-r15", Architecture: "x86_64", Maintainer: "Sören Tempel <soeren+alpine@soeren-tempel.net>", Origin: "busybox", Description: "Size optimized toolbox of many common UNIX utilities", Line: 23},
		{Name: "ca-certificates-bundle", Version: "20230506-r0", Architecture: "x86_64", Maintainer: "Natanael Copa <ncopa@alpinelinux.org>", Origin: "ca-certificates", Description: "Pre generated bundle of Mozilla certificates", Line: 80},
		{Name: "clamav-libs", Version: "1.2.1-r0", Architecture: "x86_64", Maintainer: clam, Origin: "clamav", Description: "An anti-virus toolkit for UNIX (libs)", Line: 103},
		{Name: "freshclam", Version: "1.2.1-r0", Architecture: "x86_64", Maintainer: clam, Origin: "clamav", Description: "Auto-updater for the Clam Antivirus scanner", Line: 133},
		{Name: "clamav-daemon", Version: "1.2.1-r0", Architecture: "x86_64", Maintainer: clam, Origin: "clamav", Description: "An anti-virus toolkit for UNIX (daemon)", Line: 163},
		{Name: "clamav-scanner", Version: "1.2.1-r0", Architecture: "x86_64", Maintainer: clam, Origin: "clamav", Description: "An anti-virus toolkit for UNIX (scanner)", Line: 188},
		{Name: "clamav", Version: "1.2.1-r0", Architecture: "x86_64", Maintainer: clam, Origin: "clamav", Description: "An anti-virus toolkit for UNIX eventually", Line: 212},
		{Name: "kesl", Version: "12.1.0.2968-r0", Architecture: "x86_64", Maintainer: "AO Kaspersky Lab <support@kaspersky.com>", Origin: "kesl", Description: "Kaspersky Endpoint Security for Linux (fake, for tests)", Line: 227},
	}
}

func TestParseInstalledFixture(t *testing.T) {
	for _, variant := range recfiletest.Variants(recfiletest.ReadFixture(t, "installed")) {
		t.Run(variant.Name, func(t *testing.T) {
			got, err := parseAll(variant.R)
			if err != nil {
				t.Fatal(err)
			}
			if want := wantInstalled(); !reflect.DeepEqual(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", recfiletest.Dump(got), recfiletest.Dump(want))
			}
		})
	}
}

func TestParseInstalledTruncated(t *testing.T) {
	data := recfiletest.ReadFixture(t, "installed")
	recfiletest.CheckTruncations(t, data, wantInstalled(), func(p Package) string { return p.Name }, parseAll)
}

func TestParseInstalledGarbage(t *testing.T) {
	random := recfiletest.RandomBytes(3, 4, 1<<20)
	tests := []struct {
		name string
		data []byte
	}{
		{"random_bytes", random},
		{"all_zero", make([]byte, 100_000)},
		{"one_huge_line", bytes.Repeat([]byte("P kesl "), 100_000)},
		{"dpkg_status_file", []byte(strings.Repeat("Package: kesl\nStatus: install ok installed\n\n", 200))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll(bytes.NewReader(tt.data))
			for _, p := range got {
				if !validName([]byte(p.Name)) || p.Line <= 0 {
					t.Errorf("invalid record %+v", p)
				}
			}
			if err == nil || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error %v, want one naming a line", err)
			}
			t.Logf("%d records, %.200v", len(got), err)
		})
	}
}

func TestParseInstalledGivesUp(t *testing.T) {
	in := strings.Repeat("Package: kesl\n", 1000) + "\n" + kesl
	got, err := parseAll(strings.NewReader(in))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.GaveUpAt != recfile.GiveUpAfter || len(got) != 0 {
		t.Fatalf("got %d records, %v; want to give up at line %d", len(got), err, recfile.GiveUpAfter)
	}
	if !strings.HasPrefix(err.Error(), "not an apk installed database (gave up at line 100): 100 problems: line 1: not a key:value line") {
		t.Errorf("message %q", err)
	}
}

func TestParseInstalledReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(kesl+"\nP:busybox\nV:1"), iotest.ErrReader(boom))
	got, err := parseAll(r)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading after line 13") {
		t.Fatalf("got %v", err)
	}
	if len(got) != 1 || got[0].Name != "kesl" {
		t.Errorf("got %+v", got)
	}
}

func TestParseInstalledCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ParseInstalled(strings.NewReader(kesl+"\n"+kesl+"\n"+kesl), func(Package) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("got %v after %d records, want stop after 2", err, n)
	}
}

func TestParseErrorMessage(t *testing.T) {
	in := strings.Repeat("junk\n", recfile.MaxProblems+5) + "\n" + kesl
	_, err := parseAll(strings.NewReader(in))
	msg := fmt.Sprint(err)
	for _, want := range []string{"15 problems: line 1: not a key:value line", "; and 5 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 1 {
		t.Errorf("errors.As(*SyntaxError) = %v", se)
	}
}
