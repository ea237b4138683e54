package catalog

import (
	"slices"
	"strings"
	"testing"
)

// Removal data is checked like the rest: unknown obstacles, relative or
// globbed paths, keys outside HKLM/HKU and uncited sources are errors.
func TestRemovalValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Catalog)
		want   string
	}{
		{"unknown_obstacle", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"windows": {Obstacles: []string{"nope"}}}
		}, `unknown obstacle "nope"`},
		{"relative_leftover", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"linux": {Leftovers: []string{"opt/x"}}}
		}, "not an absolute path"},
		{"globbed_uninstaller", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"darwin": {Uninstallers: []string{"/Library/*/Uninstall"}}}
		}, "not an absolute path"},
		{"windows_path_on_windows_only", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"windows": {Leftovers: []string{"/opt/x"}}}
		}, "not an absolute path"},
		{"key_glob", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"windows": {LeftoverKeys: []string{`HKLM\SOFTWARE\Kasp*`}}}
		}, "without globs"},
		{"key_hive", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"windows": {LeftoverKeys: []string{`HKCR\x`}}}
		}, "want one under HKLM or HKU"},
		{"uncited", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"linux": {Last: true, Sources: []string{"NOPE"}}}
		}, `source "NOPE" is not in sources`},
		{"bad_os", func(c *Catalog) {
			c.Products[0].Removal = map[string]Removal{"plan9": {Last: true}}
		}, `unknown OS "plan9"`},
		{"msi_property", func(c *Catalog) { c.Obstacles[0].Properties = []string{"klpasswd"} }, "Windows Installer property"},
		{"obstacle_uncited", func(c *Catalog) { c.Obstacles[0].Sources = nil }, "summary, action and sources are required"},
		{"fallback_product", func(c *Catalog) {
			f := c.Fallbacks["windows"]
			f.Product = "nope"
			c.Fallbacks["windows"] = f
		}, `unknown product "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := Default()
			tc.change(c)
			err := c.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate: %v, want an error saying %s", err, tc.want)
			}
		})
	}
}

// RemovalOf merges the vendor's data, the technology vendor's for a
// white-label build, and the product's own.
func TestRemovalOf(t *testing.T) {
	c, _ := Default()
	kes, ok := c.RemovalOf("kaspersky-endpoint-security-windows", "windows")
	if !ok || !slices.Equal(kes.Obstacles, []string{"kaspersky-self-defence", "kaspersky-kavremover", "kes-password-protection"}) ||
		!slices.Contains(kes.Leftovers, `C:\ProgramData\Kaspersky Lab`) || kes.Last {
		t.Errorf("KES for Windows: %+v", kes)
	}
	nag, _ := c.RemovalOf("kaspersky-network-agent", "darwin")
	if !nag.Last || len(nag.Uninstallers) != 1 {
		t.Errorf("Network Agent for Mac: %+v", nag)
	}
	pis, _ := c.RemovalOf("parallels-internet-security", "windows") // white label on Kaspersky technology
	if !slices.Contains(pis.Obstacles, "kaspersky-self-defence") {
		t.Errorf("Parallels Internet Security (Kaspersky inside): %+v", pis)
	}
	if r, _ := c.RemovalOf("clamav", "linux"); len(r.Obstacles)+len(r.Leftovers)+len(r.Uninstallers) > 0 || r.Last {
		t.Errorf("ClamAV has removal data: %+v", r)
	}
	if _, ok := c.RemovalOf("nope", "linux"); ok {
		t.Error("an unknown product has removal data")
	}
}
