package winreg

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"  Kaspersky\x00Lab\r\n", "Kaspersky Lab"},
		{"a\x7fb\tc", "a b c"},
		{"bad \xff utf8", "bad   utf8"},
		{"", ""},
	} {
		if got := CleanText(tt.in); got != tt.want {
			t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := CleanText(strings.Repeat("é", MaxText))
	if len(long) > MaxText+len("...") || !utf8.ValidString(long) || !strings.HasSuffix(long, "...") {
		t.Errorf("long text: %d bytes, valid %v", len(long), utf8.ValidString(long))
	}
}

func TestText(t *testing.T) {
	f := NewFake()
	f.Set(LocalMachine, `SOFTWARE\Vendor`, View64, "Name", Value{Type: SZ, Data: encodeUTF16("  Acme\r\nAV ")})
	k, err := f.OpenKey(LocalMachine, `SOFTWARE\Vendor`, View64)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if got, err := Text(k, "Name"); got != "Acme  AV" || err != nil {
		t.Errorf(`Text(k, "Name") = %q, %v; want "Acme  AV", nil`, got, err)
	}
	if got, err := Text(k, "Missing"); got != "" || err != nil {
		t.Errorf(`Text(k, "Missing") = %q, %v; want "", nil`, got, err)
	}
}
