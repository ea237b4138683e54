package catalog

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	c := loadTestCatalog(t)
	var b bytes.Buffer
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if want := "avscout catalog test: "; !strings.HasPrefix(lines[0], want) {
		t.Errorf("first line %q, want prefix %q", lines[0], want)
	}
	if !strings.Contains(out, "policy ban-kaspersky restricts kaspersky: restricted in tests\n") {
		t.Errorf("policy rule missing:\n%s", out)
	}
	rows := map[string][]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "Kaspersky" || len(f) >= 2 && f[0] == "Microsoft" {
			rows[f[0]] = f
		}
	}
	if r := rows["Kaspersky"]; len(r) == 0 || r[len(r)-1] != "yes" {
		t.Errorf("a Kaspersky product row is not restricted: %q\n%s", r, out)
	}
	if r := rows["Microsoft"]; len(r) == 0 || r[len(r)-1] == "yes" {
		t.Errorf("no unrestricted Microsoft product row: %q", r)
	}
}
