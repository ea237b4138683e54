package edkey

import (
	"bytes"
	"strings"
	"testing"
)

func TestFormatParseTagged(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s := Format(key)
	if !strings.HasPrefix(s, Prefix) {
		t.Fatalf("Format = %q", s)
	}
	if b, err := ParseTagged(s, 32); err != nil || !bytes.Equal(b, key) {
		t.Errorf("ParseTagged(Format(key)) = %x, %v", b, err)
	}
	if Format(nil) != "" {
		t.Error("Format(nil) is not empty")
	}
	for _, bad := range []string{
		strings.TrimPrefix(s, Prefix),              // no prefix
		"ED25519:" + strings.TrimPrefix(s, Prefix), // prefix case
		s[:len(s)-4],                    // short
		s + "AAAA",                      // long
		strings.Replace(s, "B", "-", 1), // URL alphabet
		s[:len(s)-2] + "x=",             // not canonical padding bits
	} {
		if _, err := ParseTagged(bad, 32); err == nil {
			t.Errorf("ParseTagged(%q) accepted", bad)
		}
	}
}
