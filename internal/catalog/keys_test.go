package catalog

import (
	"slices"
	"strings"
	"testing"
)

// The registry keys the built-in catalog names for Windows reach the
// vendor-keys source: plain keys and globs, and the product descriptions.
func TestDefaultCatalogKeys(t *testing.T) {
	c := builtinCatalog(t)
	keys := c.Keys("windows")
	for _, want := range []string{
		`HKLM\SOFTWARE\KasperskyLab`,
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab`,
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES*`,
		`HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates`,
	} {
		if !slices.Contains(keys, want) {
			t.Errorf("Keys(windows) lacks %s", want)
		}
	}
	if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Error("Keys is not sorted and unique")
	}
	pk := c.ProductKeys("windows")
	if !slices.Contains(pk, `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\*\environment`) || len(pk) != 2 {
		t.Errorf("ProductKeys(windows) = %v", pk)
	}
	defs := c.Definitions("windows")
	for _, want := range []DefinitionsValue{
		{Key: `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\*\Statistics\AVState`, Value: "Protection_BasesDate", Format: "dd-MM-yyyy HH-mm-ss"},
		{Key: `HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates`, Value: "SignaturesLastUpdated", Format: "filetime"},
	} {
		if !slices.Contains(defs, want) {
			t.Errorf("Definitions(windows) = %v, lacks %v", defs, want)
		}
	}
	if len(c.Definitions("linux")) != 0 {
		t.Errorf("Definitions(linux) = %v", c.Definitions("linux"))
	}
	if len(c.Keys("linux")) != 0 || len(c.ProductKeys("darwin")) != 0 {
		t.Error("registry keys on an OS without a registry")
	}
}

func TestParseRejectsBadKeys(t *testing.T) {
	for _, bad := range []string{`HKCR\Foo`, `SOFTWARE\Foo`, `HKLM\SOFTWARE\[`} {
		for _, field := range []string{"keys", "product_keys", "bases_keys"} {
			doc := `version: "1"
policy: {id: p}
vendors:
  - id: v
    name: V
    brands: [V]
    category: antivirus
    technology:
      windows:
        ` + field + `: ['` + bad + `']
`
			_, err := Parse(strings.NewReader(doc))
			if err == nil || !strings.Contains(err.Error(), field) {
				t.Errorf("%s %q: error %v", field, bad, err)
			}
		}
	}
}
