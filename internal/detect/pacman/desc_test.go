package pacman

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// minimal is the smallest desc pacman could read: a name and a version.
const minimal = "%NAME%\nkesl\n\n%VERSION%\n12.1.0.2968-1\n\n"

func TestParseDesc(t *testing.T) {
	clamav := readFixture(t, "clamav.desc")
	tests := []struct {
		name string
		desc string
		want Package
	}{
		{"written by pacman 6.0.2", clamav, Package{
			Name: "clamav", Version: "1.4.1-1", Base: "clamav", Description: "Anti-virus toolkit for Unix",
			URL: "https://www.clamav.net/", Arch: "x86_64", Packager: "Manjaro Build Server <build@manjaro.org>",
			InstallDate: time.Unix(1796544397, 0).UTC(),
		}},
		{"minimal", minimal, Package{Name: "kesl", Version: "12.1.0.2968-1"}},
		{"CRLF and no final newline", strings.ReplaceAll(strings.TrimSpace(minimal), "\n", "\r\n"), Package{Name: "kesl", Version: "12.1.0.2968-1"}},
		{"dependency", minimal + "%REASON%\n1\n", Package{Name: "kesl", Version: "12.1.0.2968-1", Dependency: true}},
		{"explicit reason", minimal + "%REASON%\n0\n", Package{Name: "kesl", Version: "12.1.0.2968-1"}},
		{"epoch", "%NAME%\nlinux-firmware\n\n%VERSION%\n1:20240909.552ed9b8-1\n", Package{Name: "linux-firmware", Version: "1:20240909.552ed9b8-1"}},
		{"AUR-built package", minimal + "%PACKAGER%\nUnknown Packager\n", Package{Name: "kesl", Version: "12.1.0.2968-1", Packager: "Unknown Packager"}},
		{"unknown sections skipped", "%XDATA%\npkgtype=pkg\n\n" + minimal + "%FUTURE%\na\nb\n", Package{Name: "kesl", Version: "12.1.0.2968-1"}},
		{"bad install date left zero", minimal + "%INSTALLDATE%\nyesterday\n", Package{Name: "kesl", Version: "12.1.0.2968-1"}},
		{"name with every allowed character", "%NAME%\nlib32-gcc@libs_1.2+x-y\n", Package{Name: "lib32-gcc@libs_1.2+x-y"}},
		{"blank lines between sections", "\n\n%NAME%\nkesl\n\n\n\n%VERSION%\n1-1\n", Package{Name: "kesl", Version: "1-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDesc(strings.NewReader(tt.desc))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDescErrors(t *testing.T) {
	tests := []struct {
		name, desc string
		want       error
		text       string
	}{
		{"empty", "", ErrNotDesc, "no %NAME%"},
		{"no name", "%VERSION%\n1-1\n", ErrNotDesc, "no %NAME%"},
		{"a dpkg status file", "Package: kesl\nStatus: install ok installed\n", ErrNotDesc, "outside any section"},
		{"bad name", "%NAME%\n-kesl\n", ErrNotDesc, `bad package name "-kesl"`},
		{"name with a blank", "%NAME%\nkesl gui\n", ErrNotDesc, "bad package name"},
		{"non-ASCII name", "%NAME%\nkesl\u00e9\n", ErrNotDesc, "bad package name"},
		{"two names", "%NAME%\nkesl\nkesl-gui\n", ErrNotDesc, "%NAME% has 2 values"},
		{"section twice", minimal + "%NAME%\nother\n", ErrNotDesc, "%NAME% again"},
		{"NUL byte", "%NAME%\nke\x00sl\n", ErrNotDesc, "NUL"},
		{"huge line", "%NAME%\nkesl\n\n%DESC%\n" + strings.Repeat("x", maxLine+1) + "\n", ErrNotDesc, "longer than"},
		{"too large", minimal + "%DEPENDS%\n" + strings.Repeat("glibc\n", MaxDesc/6+1), ErrTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDesc(strings.NewReader(tt.desc))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %v, want %v saying %q", err, tt.want, tt.text)
			}
		})
	}
}

// Every prefix of a real desc parses or fails cleanly and never panics;
// what it keeps is what it read.
func TestParseDescTruncated(t *testing.T) {
	clamav := readFixture(t, "clamav.desc")
	for i := range len(clamav) {
		p, err := ParseDesc(strings.NewReader(clamav[:i]))
		if err == nil && !strings.HasPrefix("clamav", p.Name) {
			t.Fatalf("prefix %d: %+v", i, p)
		}
	}
}
