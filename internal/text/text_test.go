package text

import (
	"slices"
	"testing"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 5, "abcde..."},
		{"ééé", 3, "é..."},     // never half a character
		{"\xffabc", 2, "a..."}, // invalid UTF-8 in what is kept is dropped
		{"abc", 0, "..."},
	} {
		if got := Clip(tc.in, tc.max); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" dpkg, ,rpm ,", []string{"dpkg", "rpm"}},
		{"a,b", []string{"a", "b"}},
		{" , ", nil},
	} {
		if got := SplitList(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("SplitList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
