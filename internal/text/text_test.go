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

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"0f8fad5b-d9cb-469f-a165-70867728950e":  true,
		"0F8FAD5B-D9CB-469F-A165-70867728950E":  true,
		"0f8fad5b-d9cb-469f-a165-70867728950":   false, // short
		"0f8fad5b-d9cb-469f-a165-70867728950e0": false,
		"0f8fad5bd-9cb-469f-a165-70867728950e":  false, // hyphen moved
		"0f8fad5b-d9cb-469f-a165-70867728950g":  false,
		"{0f8fad5b-d9cb-469f-a165-70867728950}": false,
		"":                                      false,
		"0f8fad5b-d9cb-469f-a165-7086772895٠e":  false, // a non-ASCII digit
	} {
		if got := IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	}
}
