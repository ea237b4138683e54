package config

import (
	"regexp"
	"strings"
	"testing"
)

// validTagKey and the source-name check accept what the regular
// expressions they replaced accepted, and nothing else.
func TestValidNameAsRegexp(t *testing.T) {
	tagKey := regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)
	source := regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	inputs := []string{"", "a", "dpkg", "Dpkg", "env", "cost_centre", "a.b-c_d", "a b", "a\n", "\na", "é", "ä-b",
		"x/y", "a$", "a*", "-", "_", ".", strings.Repeat("a", 32), strings.Repeat("a", 33),
		strings.Repeat("b", 64), strings.Repeat("b", 65), "a\x00", "ﬀ"}
	for _, s := range inputs {
		if got, want := validTagKey(s), tagKey.MatchString(s); got != want {
			t.Errorf("validTagKey(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := validName(s, 32, "-"), source.MatchString(s); got != want {
			t.Errorf("validName(%q, 32, \"-\") = %v, the regexp says %v", s, got, want)
		}
	}
}
