package scan

import (
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/report"
)

func TestFailOn(t *testing.T) {
	verdicts := []string{report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete, ""}
	for _, tt := range []struct {
		in      string
		want    FailOn
		failing []string // the verdicts that fail
		err     string
	}{
		{"", nil, nil, ""},
		{"  ", nil, nil, ""},
		{" , ", nil, nil, `unknown --fail-on ""`},
		{"restricted,", nil, nil, `unknown --fail-on ""`},
		{"restricted", FailOn{FailRestricted}, []string{report.VerdictNonCompliant}, ""},
		{"incomplete", FailOn{FailIncomplete}, []string{report.VerdictIncomplete}, ""},
		{" restricted , incomplete,restricted", FailOn{FailRestricted, FailIncomplete}, []string{report.VerdictNonCompliant, report.VerdictIncomplete}, ""},
		{"restricted,restricteed", nil, nil, `unknown --fail-on "restricteed"`},
		{"Restricted", nil, nil, `unknown --fail-on "Restricted"`},
	} {
		f, err := ParseFailOn(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseFailOn(%q) = %v, %v; want an error %q", tt.in, f, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(f, tt.want) {
			t.Errorf("ParseFailOn(%q) = %v, %v; want %v", tt.in, f, err, tt.want)
		}
		for _, v := range verdicts {
			if got := f.Failing(v); got != slices.Contains(tt.failing, v) {
				t.Errorf("%v.Failing(%q) = %v", f, v, got)
			}
		}
	}
}
