package units

import (
	"regexp"
	"testing"
)

// shebang, heredoc and startLink find what the regular expressions they
// replaced found, on ordinary, odd and hostile lines.
func TestWordsAsRegexps(t *testing.T) {
	shebangRE := regexp.MustCompile(`^#!\s*(\S+)`)
	heredocRE := regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)
	startLinkRE := regexp.MustCompile(`^S[0-9][0-9](.+)$`)
	inputs := []string{"", "#!", "#!/bin/sh", "#! /sbin/openrc-run", "#!\t/bin/bash -e", "#!  ", "#!\v/bin/sh", " #!/bin/sh",
		"#!/bin/sh\r", "#!\xff\xfe", "#!\u00a0/bin/sh", "#!é", "##!/bin/sh",
		"cat <<EOF", "cat <<-EOF", "cat << 'EOF'", `cat <<"END_1"`, "cat <<- \tX", "cat <<<EOF", "a <<<<b", "<<1x <<y",
		"<<-", "<<'", `<<"9`, "x << -EOF", "<<--EOF", "<<_", "<< \n EOF", "a<<b<<c", "<<\"\"E", "<<'-E'", "no here-doc",
		"S01kesl", "S1kesl", "S01", "S01\n", "S01a\nb", "S99x", "s01kesl", "K01kesl", "S0akesl", "S01\xff", "S012"}
	for _, s := range inputs {
		prog, ok := shebang([]byte(s))
		if m := shebangRE.FindSubmatch([]byte(s)); (m != nil) != ok || m != nil && string(m[1]) != string(prog) {
			t.Errorf("shebang(%q) = %q, %v; the regexp found %q", s, prog, ok, m)
		}
		d, ok := heredoc(s)
		if m := heredocRE.FindStringSubmatch(s); (m != nil) != ok || m != nil && m[1] != d {
			t.Errorf("heredoc(%q) = %q, %v; the regexp found %q", s, d, ok, m)
		}
		script, ok := startLink(s)
		if m := startLinkRE.FindStringSubmatch(s); (m != nil) != ok || m != nil && m[1] != script {
			t.Errorf("startLink(%q) = %q, %v; the regexp found %q", s, script, ok, m)
		}
	}
}

// FuzzWordsAsRegexps compares them on any input.
func FuzzWordsAsRegexps(f *testing.F) {
	shebangRE := regexp.MustCompile(`^#!\s*(\S+)`)
	heredocRE := regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)
	startLinkRE := regexp.MustCompile(`^S[0-9][0-9](.+)$`)
	for _, s := range []string{"#!/bin/sh", "cat <<-'EOF'", "S20kesl", "a<<<b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prog, ok := shebang([]byte(s))
		if m := shebangRE.FindSubmatch([]byte(s)); (m != nil) != ok || m != nil && string(m[1]) != string(prog) {
			t.Errorf("shebang(%q) = %q, %v; the regexp found %q", s, prog, ok, m)
		}
		d, ok := heredoc(s)
		if m := heredocRE.FindStringSubmatch(s); (m != nil) != ok || m != nil && m[1] != d {
			t.Errorf("heredoc(%q) = %q, %v; the regexp found %q", s, d, ok, m)
		}
		script, ok := startLink(s)
		if m := startLinkRE.FindStringSubmatch(s); (m != nil) != ok || m != nil && m[1] != script {
			t.Errorf("startLink(%q) = %q, %v; the regexp found %q", s, script, ok, m)
		}
	})
}
