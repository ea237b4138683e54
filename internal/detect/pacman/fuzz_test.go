package pacman

import (
	"strings"
	"testing"
)

func FuzzParseDesc(f *testing.F) {
	f.Add(readFixture(f, "clamav.desc"))
	for _, s := range []string{"", minimal, "%NAME%", "%NAME%\n", "%%\n", "%NAME%\n\n", "%NAME%\nx\n%VERSION%\n", "%NAME%\r\nx\r\n",
		"x\n%NAME%\nx\n", "%NAME%\nx\n\n%NAME%\ny\n", "%INSTALLDATE%\n-1\n\n%NAME%\nx\n", "%REASON%\n1\n1\n\n%NAME%\nx\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		p, err := ParseDesc(strings.NewReader(data))
		if err != nil {
			return
		}
		if !validName(p.Name) {
			t.Fatalf("bad name %q accepted", p.Name)
		}
		for _, v := range []string{p.Name, p.Version, p.Base, p.Description, p.URL, p.Arch, p.Packager} {
			if strings.ContainsAny(v, "\n\r\x00") || strings.TrimSpace(v) != v || len(v) > maxLine {
				t.Fatalf("bad value %q", v)
			}
		}
	})
}
