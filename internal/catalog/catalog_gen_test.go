package catalog

import (
	"bytes"
	"go/format"
	"os"
	"reflect"
	"regexp"
	"testing"
)

// catalog_gen.go is catalog.yaml, validated, as Go data: the test fails
// when catalog.yaml was edited and `go generate ./internal/catalog` not
// run, or catalog_gen.go was edited by hand.
func TestGeneratedCatalogMatchesYAML(t *testing.T) {
	f, err := os.Open("catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parsed, err := Parse(f)
	if err != nil {
		t.Fatalf("catalog.yaml: %v", err)
	}
	want, err := GoSource(parsed)
	if err == nil {
		want, err = format.Source(want)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("catalog_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("catalog_gen.go is out of date with catalog.yaml: run `go generate ./internal/catalog`")
	}

	// The data itself, whatever the text: Default gives what Parse gives,
	// vendor index included, and it passes the run-time validation.
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(def, parsed) {
		t.Fatal("Default() and Parse(catalog.yaml) differ")
	}
	if err := def.validate(); err != nil {
		t.Fatalf("built-in catalog: %v", err)
	}
	// Each call is a new copy: a caller changing one cannot change another's.
	def.Products[0].Name = "changed"
	def.Vendors[0].Technology["linux"].Processes[0] = "changed"
	again, _ := Default()
	if !reflect.DeepEqual(again, parsed) {
		t.Fatal("changing one Default() catalog changed the next")
	}
}

// A catalog that differs from catalog.yaml in any field gives other Go
// source: the comparison above cannot miss an edit.
func TestGoSourceSeesEveryChange(t *testing.T) {
	base, _ := Default()
	src, err := GoSource(base)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(c *Catalog){
		"version":          func(c *Catalog) { c.Version += "x" },
		"rule vendor":      func(c *Catalog) { c.Policy.Rules[0].Vendors = append(c.Policy.Rules[0].Vendors, "x") },
		"confirm_only":     func(c *Catalog) { c.Vendors[0].ConfirmOnly = !c.Vendors[0].ConfirmOnly },
		"white_label":      func(c *Catalog) { c.Products[0].WhiteLabel = !c.Products[0].WhiteLabel },
		"fingerprint":      func(c *Catalog) { fp := c.Products[0].Fingerprints; fp["linux"] = Fingerprints{Paths: []string{"/x"}} },
		"source":           func(c *Catalog) { c.Sources["X"] = "y" },
		"empty brand list": func(c *Catalog) { c.Vendors[0].Brands = []string{} },
		"obstacle":         func(c *Catalog) { c.Obstacles[0].Summary += "x" },
		"fallback":         func(c *Catalog) { f := c.Fallbacks["windows"]; f.Name += "x"; c.Fallbacks["windows"] = f },
		"removal last": func(c *Catalog) {
			r := c.Vendors[0].Removal["linux"]
			r.Last = !r.Last
			c.Vendors[0].Removal["linux"] = r
		},
	} {
		c, _ := Default()
		change(c)
		other, err := GoSource(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.Equal(src, other) {
			t.Errorf("%s: a changed catalog gives the same Go source", name)
		}
	}
}

// validID accepts what the regular expression it replaced accepted.
func TestValidIDAsRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	for _, id := range []string{"", "a", "kaspersky", "kaspersky-kesl", "k.1", "-a", ".a", "A", "aB", "a b", "a\n", "é", "a_b", "0", "a-", "a..b"} {
		if got, want := validID(id), re.MatchString(id); got != want {
			t.Errorf("validID(%q) = %v, the regexp says %v", id, got, want)
		}
	}
}
