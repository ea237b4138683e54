package dpkg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/avscout/avscout/internal/detect/dpkg/internal/synth"
	"github.com/avscout/avscout/internal/detect/internal/recfile"
	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
)

// parseAll collects every record ParseStatus delivers.
func parseAll(r io.Reader) ([]Package, error) { return recfiletest.ParseAll(ParseStatus, r) }

const kesl = "Package: kesl\nStatus: install ok installed\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\nArchitecture: amd64\nVersion: 12.1.0-2968\nDescription: Kaspersky Endpoint Security for Linux\n Long description.\n .\n More.\n"

func keslPkg(line int) Package {
	return Package{
		Name: "kesl", Version: "12.1.0-2968", Architecture: "amd64",
		Maintainer: "AO Kaspersky Lab <support@kaspersky.com>",
		Status:     "install ok installed", Synopsis: "Kaspersky Endpoint Security for Linux", Line: line,
	}
}

func TestParseStatus(t *testing.T) {
	long := strings.Repeat("x", MaxLine+10)
	tests := []struct {
		name         string
		in           string
		want         []Package
		wantProblems []string // "line N: message" prefixes, in order
	}{
		{name: "empty", in: ""},
		{name: "only_blank_lines", in: "\n\n \n\t\n\r\n"},
		{name: "one_record", in: kesl, want: []Package{keslPkg(1)}},
		{name: "no_final_newline", in: strings.TrimSuffix(kesl, "\n"), want: []Package{keslPkg(1)}},
		{name: "crlf", in: strings.ReplaceAll(kesl+"\n"+kesl, "\n", "\r\n"), want: []Package{keslPkg(1), keslPkg(11)}},
		{name: "leading_and_many_blank_lines", in: "\n\n" + kesl + "\n\n\n" + kesl, want: []Package{keslPkg(3), keslPkg(15)}},
		{name: "blank_line_of_spaces_separates", in: kesl + " \t\n" + kesl, want: []Package{keslPkg(1), keslPkg(11)}},
		{
			name: "field_names_any_case_values_trimmed",
			in:   "package:   kesl  \nVERSION:\t1:2.0-1\nmaintainer:AO Kaspersky Lab\nsource: kesl-src (2.0)\nSTATUS: install ok installed\n",
			want: []Package{{Name: "kesl", Version: "1:2.0-1", Maintainer: "AO Kaspersky Lab", Source: "kesl-src (2.0)", Status: "install ok installed", Line: 1}},
		},
		{
			name: "record_starts_with_skipped_field",
			in:   "Essential: yes\nPackage: base-files\nVersion: 12.4\n",
			want: []Package{{Name: "base-files", Version: "12.4", Line: 1}},
		},
		{
			name: "empty_values",
			in:   "Package: kav4fs\nStatus: purge ok not-installed\nVersion:\nMaintainer:\n",
			want: []Package{{Name: "kav4fs", Status: "purge ok not-installed", Line: 1}},
		},
		{
			name: "comment_lines_ignored",
			in:   "# written by hand\nPackage: kesl\n# note\nVersion: 1\n",
			want: []Package{{Name: "kesl", Version: "1", Line: 2}},
		},
		{
			name:         "line_without_colon_keeps_record",
			in:           "Package: kesl\nVersion: 1\ngarbage here\nMaintainer: AO Kaspersky Lab\n",
			want:         []Package{{Name: "kesl", Version: "1", Maintainer: "AO Kaspersky Lab", Line: 1}},
			wantProblems: []string{`line 3: not a field: "garbage here"`},
		},
		{
			name:         "record_without_package_dropped",
			in:           "Version: 1\nStatus: install ok installed\n\n" + kesl,
			want:         []Package{keslPkg(4)},
			wantProblems: []string{"line 1: record without a Package field"},
		},
		{
			name:         "bad_package_name_dropped",
			in:           "Package: two words\nVersion: 1\n\n" + kesl,
			want:         []Package{keslPkg(4)},
			wantProblems: []string{`line 1: bad package name "two words"`},
		},
		{
			name:         "duplicate_field_keeps_first",
			in:           "Package: kesl\nVersion: 1\nVersion: 2\n",
			want:         []Package{{Name: "kesl", Version: "1", Line: 1}},
			wantProblems: []string{"line 3: duplicate Version field ignored"},
		},
		{
			name: "repeated_package_starts_new_record",
			in:   "Package: kesl\nVersion: 1\nPackage: klnagent64\nVersion: 2\n",
			want: []Package{
				{Name: "kesl", Version: "1", Line: 1},
				{Name: "klnagent64", Version: "2", Line: 3},
			},
			wantProblems: []string{"line 3: Package field repeats without a blank line"},
		},
		{
			name:         "continuation_outside_record",
			in:           " stray continuation\n\n" + kesl,
			want:         []Package{keslPkg(3)},
			wantProblems: []string{"line 1: continuation line outside a record"},
		},
		{
			name:         "nul_byte",
			in:           "Package: kesl\nVer\x00sion: 1\n",
			want:         []Package{{Name: "kesl", Line: 1}},
			wantProblems: []string{"line 2: binary data (NUL byte)"},
		},
		{
			name:         "bad_field_name",
			in:           "Package: kesl\nBad Name: 1\n",
			want:         []Package{{Name: "kesl", Line: 1}},
			wantProblems: []string{`line 2: bad field name "Bad Name"`},
		},
		{
			name: "huge_continuation_line_skipped",
			in:   "Package: kesl\nDescription: x\n " + long + "\nVersion: 1\n",
			want: []Package{{Name: "kesl", Version: "1", Synopsis: "x", Line: 1}},
		},
		{
			name: "huge_skipped_field",
			in:   "Package: kesl\nDepends: " + long + "\nVersion: 1\n",
			want: []Package{{Name: "kesl", Version: "1", Line: 1}},
		},
		{
			name:         "huge_kept_field",
			in:           "Package: kesl\nMaintainer: " + long + "\nVersion: 1\n",
			want:         []Package{{Name: "kesl", Version: "1", Line: 1}},
			wantProblems: []string{"line 2: Maintainer field longer than 65536 bytes"},
		},
		{
			name:         "huge_package_field",
			in:           "Package: " + long + "\nVersion: 1\n\n" + kesl,
			want:         []Package{keslPkg(4)},
			wantProblems: []string{"line 1: Package field longer than 65536 bytes"},
		},
		{
			name:         "huge_line_without_newline_at_end",
			in:           kesl + "\n" + long,
			want:         []Package{keslPkg(1)},
			wantProblems: []string{`line 11: not a field: "xxxx`},
		},
		{
			name: "several_problems_counted",
			in:   "a\nb\nc\n\n" + kesl,
			want: []Package{keslPkg(5)},
			wantProblems: []string{
				`line 1: not a field: "a"`, `line 2: not a field: "b"`, `line 3: not a field: "c"`,
			},
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

func TestParseErrorMessage(t *testing.T) {
	in := strings.Repeat("junk\n", recfile.MaxProblems+5) + "\n" + kesl
	got, err := parseAll(strings.NewReader(in))
	if len(got) != 1 {
		t.Fatalf("got %d records, want 1", len(got))
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *ParseError", err)
	}
	if pe.Count != recfile.MaxProblems+5 || len(pe.Problems) != recfile.MaxProblems {
		t.Errorf("Count %d, %d problems kept; want %d, %d", pe.Count, len(pe.Problems), recfile.MaxProblems+5, recfile.MaxProblems)
	}
	msg := err.Error()
	for _, want := range []string{"15 problems: line 1: not a field", "line 10: not a field", "; and 5 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 1 {
		t.Errorf("errors.As(*SyntaxError) = %v", se)
	}
}

// fixture names the expected records of a committed status file.
func TestParseStatusFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []Package
	}{
		{
			// Real records from a Debian 12 machine (see testdata/README.md).
			file: "status-debian12",
			want: []Package{
				{Name: "base-files", Version: "12.4+deb12u11", Architecture: "amd64", Maintainer: "Santiago Vila <sanvila@debian.org>", Status: "install ok installed", Synopsis: "Debian base system miscellaneous files", Line: 1},
				{Name: "ca-certificates", Version: "20230311+deb12u1", Architecture: "all", Maintainer: "Julien Cristau <jcristau@debian.org>", Status: "install ok installed", Synopsis: "Common CA certificates", Line: 28},
				{Name: "dpkg", Version: "1.21.22", Architecture: "amd64", Maintainer: "Dpkg Developers <debian-dpkg@lists.debian.org>", Status: "install ok installed", Synopsis: "Debian package management system", Line: 50},
				{Name: "libc6", Version: "2.36-9+deb12u14", Architecture: "amd64", Maintainer: "GNU Libc Maintainers <debian-glibc@lists.debian.org>", Source: "glibc", Status: "install ok installed", Synopsis: "GNU C Library: Shared libraries", Line: 77},
				{Name: "libssl3", Version: "3.0.19-1~deb12u2", Architecture: "amd64", Maintainer: "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>", Source: "openssl", Status: "install ok installed", Synopsis: "Secure Sockets Layer toolkit - shared libraries", Line: 100},
				{Name: "tzdata", Version: "2025b-0+deb12u2", Architecture: "all", Maintainer: "GNU Libc Maintainers <debian-glibc@lists.debian.org>", Status: "install ok installed", Synopsis: "time zone and daylight-saving time data", Line: 119},
			},
		},
		{
			file: "status-states",
			want: []Package{
				{Name: "clamav", Version: "1.4.3+dfsg-1~deb12u2", Architecture: "amd64", Maintainer: "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>", Status: "hold ok installed", Synopsis: "anti-virus utility for Unix - command-line interface", Line: 1},
				{Name: "clamav-daemon", Version: "1.4.3+dfsg-1~deb12u2", Architecture: "amd64", Maintainer: "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>", Source: "clamav", Status: "deinstall ok installed", Synopsis: "anti-virus utility for Unix - scanner daemon", Line: 15},
				{Name: "falcon-sensor", Version: "7.18.0-17106", Architecture: "amd64", Maintainer: "CrowdStrike Inc. <support@crowdstrike.com>", Status: "install ok triggers-awaited", Synopsis: "CrowdStrike Falcon Sensor", Line: 27},
				{Name: "kav4fs", Architecture: "i386", Status: "purge ok not-installed", Line: 37},
				{Name: "kesl", Version: "12.1.0-2968", Architecture: "amd64", Maintainer: "AO Kaspersky Lab <support@kaspersky.com>", Status: "install ok installed", Synopsis: "Kaspersky Endpoint Security for Linux", Line: 43},
				{Name: "kesl-astra", Version: "12.1.0-2968", Architecture: "amd64", Maintainer: "AO Kaspersky Lab <support@kaspersky.com>", Status: "install reinstreq half-installed", Synopsis: "Kaspersky Endpoint Security for Linux (Astra Linux)", Line: 57},
				{Name: "kesl-gui", Version: "12.1.0-2968", Architecture: "amd64", Maintainer: "AO Kaspersky Lab <support@kaspersky.com>", Status: "deinstall ok config-files", Synopsis: "Kaspersky Endpoint Security for Linux graphical interface", Line: 66},
				{Name: "klnagent64", Version: "15.1.0-20748", Architecture: "amd64", Maintainer: "AO Kaspersky Lab <support@kaspersky.com>", Status: "install ok half-configured", Synopsis: "Kaspersky Security Center Network Agent", Line: 78},
				{Name: "mdatp", Version: "101.24082.0004", Architecture: "amd64", Maintainer: "Microsoft <mdatpsupport@microsoft.com>", Status: "install ok triggers-pending", Synopsis: "Microsoft Defender for Endpoint", Line: 89},
				{Name: "sophos-spl", Version: "2024.2.1.2", Architecture: "amd64", Maintainer: "Sophos Limited <support@sophos.com>", Status: "install ok unpacked", Synopsis: "Sophos Protection for Linux", Line: 99},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			for _, variant := range recfiletest.Variants(recfiletest.ReadFixture(t, tt.file)) {
				t.Run(variant.Name, func(t *testing.T) {
					got, err := parseAll(variant.R)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, tt.want) {
						t.Errorf("got:\n%s\nwant:\n%s", recfiletest.Dump(got), recfiletest.Dump(tt.want))
					}
				})
			}
		})
	}
}

func TestParseStatusTruncated(t *testing.T) {
	// Cut a real file at every byte: no panic, every record that ends
	// before the cut is delivered unchanged, and nothing is invented.
	data := recfiletest.ReadFixture(t, "status-debian12")
	full, err := parseAll(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	recfiletest.CheckTruncations(t, data, full, func(p Package) string { return p.Name }, parseAll)
}

func TestParseStatusGarbage(t *testing.T) {
	random := recfiletest.RandomBytes(1, 2, 1<<20)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(exe) // this test binary: ELF, PE or Mach-O
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"random_bytes", random},
		{"all_zero", make([]byte, 200_000)},
		{"one_huge_line", bytes.Repeat([]byte("Package kesl "), 100_000)},
		{"newlines_only", bytes.Repeat([]byte("\n"), 100_000)},
		{"executable", binary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll(bytes.NewReader(tt.data))
			for _, p := range got {
				if !validPackageName([]byte(p.Name)) || p.Line <= 0 {
					t.Errorf("invalid record %+v", p)
				}
			}
			if len(tt.data) > 0 && bytes.Count(tt.data, []byte("\n")) == len(tt.data) {
				if err != nil {
					t.Errorf("blank lines: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error for %s (%d records)", tt.name, len(got))
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q names no line", err)
			}
			t.Logf("%d records, %v", len(got), err)
		})
	}
}

func TestParseStatusGivesUp(t *testing.T) {
	in := strings.Repeat("\x7fELF\x00\x00garbage\n", 1000) + kesl
	got, err := parseAll(strings.NewReader(in))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.GaveUpAt != recfile.GiveUpAfter {
		t.Fatalf("got %v, want a ParseError giving up at line %d", err, recfile.GiveUpAfter)
	}
	if len(got) != 0 {
		t.Errorf("got %d records after giving up", len(got))
	}
	if !strings.HasPrefix(err.Error(), "not a dpkg status file (gave up at line 100): 100 problems: line 1: binary data") {
		t.Errorf("message %q", err)
	}
}

func TestParseStatusReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	in := kesl + "\n" + "junk\n\n" + "Package: klnagent64\nVersion: 1"
	r := io.MultiReader(strings.NewReader(in), iotest.ErrReader(boom))
	got, err := parseAll(r)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	// The complete record before the error is kept, the problem too; the
	// record cut by the error is not delivered.
	if len(got) != 1 || got[0].Name != "kesl" {
		t.Errorf("got %+v", got)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Count != 1 {
		t.Errorf("problems lost: %v", err)
	}
	if !strings.Contains(err.Error(), "reading after line 13: disk on fire") {
		t.Errorf("message %q", err)
	}
}

func TestParseStatusCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ParseStatus(strings.NewReader(kesl+"\n"+kesl+"\n"+kesl), func(Package) error {
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

func TestParseStatus100k(t *testing.T) {
	// Generated, not committed: about 62 MB.
	name := filepath.Join(t.TempDir(), "status")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.WriteStatus(f, 100_000); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, found := 0, false
	err = ParseStatus(f, func(p Package) error {
		if p.Line != n*14+1 {
			return fmt.Errorf("record %d at line %d", n, p.Line)
		}
		if p.Name == "kesl" {
			found = n == synth.KasperskyIndex && p.Version == "12.1.0-2968" &&
				p.Maintainer == "AO Kaspersky Lab <support@kaspersky.com>"
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 100_000 || !found {
		t.Errorf("got %d records, kesl found: %v", n, found)
	}
}
