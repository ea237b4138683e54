package dpkg

import (
	"bytes"
	"strings"
	"testing"
)

// validFieldName is the check fieldName folds into its search for the
// colon, as it was written before: a deb822 field name is printable
// ASCII without spaces or colons, not starting with '#' or '-'.
func validFieldName(name []byte) bool {
	if len(name) == 0 || name[0] == '-' || name[0] == '#' {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// fieldNameByTwoPasses is fieldName the way it was done before: a search
// for the colon, then a check of what comes before it.
func fieldNameByTwoPasses(line []byte) (int, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return -1, false
	}
	return colon, validFieldName(line[:colon])
}

func TestFieldName(t *testing.T) {
	for _, line := range []string{
		"", ":", "::", "Package: kesl", "Package:kesl", "package: kesl", "X-Custom-Field: 1",
		"-Field: x", "#Field: x", "Fi eld: x", "Field\t: x", "Fïeld: x", "Field\x00: x", "Field\x7f: x",
		"no colon", " Package: continuation", "Package", "A: b: c", "~: tilde",
	} {
		colon, valid := fieldName([]byte(line))
		wantColon, wantValid := fieldNameByTwoPasses([]byte(line))
		if colon != wantColon || valid != wantValid {
			t.Errorf("fieldName(%q) = %d, %v; want %d, %v", line, colon, valid, wantColon, wantValid)
		}
	}
}

func FuzzFieldName(f *testing.F) {
	for _, s := range []string{"Package: kesl", "-a:", "#:", " a:", "a b:", "\xff:", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		colon, valid := fieldName(line)
		wantColon, wantValid := fieldNameByTwoPasses(line)
		if colon != wantColon || valid != wantValid {
			t.Fatalf("fieldName(%q) = %d, %v; want %d, %v", line, colon, valid, wantColon, wantValid)
		}
	})
}

// fieldOfByFolding is fieldOf without its shortcuts: the kept field
// whose name the given one equals, ASCII case folded. A name with other
// bytes is no valid field name and never was a kept one ("ſtatus", whose
// long s Unicode folds to s, is not Status).
func fieldOfByFolding(name []byte) field {
	for _, c := range name {
		if c >= 0x80 {
			return fieldOther
		}
	}
	for f := fieldPackage; f <= fieldDescription; f++ {
		if strings.EqualFold(string(name), f.String()) {
			return f
		}
	}
	return fieldOther
}

func FuzzFieldOf(f *testing.F) {
	for _, s := range []string{"Package", "package", "PACKAGE", "Section", "Depends", "Status", "source", "Maintainer",
		"Description", "Architecture", "Installed-Size", "ſtatus", "\u212aesl", "Sta", "x", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, name []byte) {
		if got, want := fieldOf(name), fieldOfByFolding(name); got != want {
			t.Fatalf("fieldOf(%q) = %v, want %v", name, got, want)
		}
	})
}
