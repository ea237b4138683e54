package catalog

import (
	"errors"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Load gives the built-in catalog, the built-in vendors under a policy-only
// file's policy, or a whole catalog file; its errors name the file.
func TestLoad(t *testing.T) {
	builtin, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	policy := write("policy.yaml", `policy:
  id: acme-2026
  rules:
    - id: acme-no-crowdstrike
      vendors: [crowdstrike]
      reason: "Acme's own policy forbids this vendor."
`)
	full, err := os.ReadFile("testdata/match-catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	whole := write("catalog.yaml", string(full))
	for _, tt := range []struct {
		name, file string
		policyID   string // of the loaded catalog
		vendors    int    // -1: as many as the built-in catalog
		err        string // a part of the error; "" for none
	}{
		{"builtin", "", builtin.Policy.ID, -1, ""},
		{"policy_only", policy, "acme-2026", -1, ""},
		{"whole", whole, "test", 0, ""},
		{"unknown_vendor", write("bad.yaml", "policy:\n  id: x\n  rules:\n    - id: r\n      vendors: [nobody]\n      reason: x\n"),
			"", 0, `unknown vendor "nobody"`},
		{"empty", write("empty.yaml", ""), "", 0, "empty.yaml: catalog is empty"},
		{"not_yaml", write("junk.yaml", "{{{"), "", 0, "junk.yaml: decode catalog"},
		{"unknown_field", write("typo.yaml", string(full)+"vendorz: []\n"), "", 0, "typo.yaml"},
		{"missing", filepath.Join(dir, "missing.yaml"), "", 0, "missing.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.file)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Load(%s) = %v, want an error containing %q", tt.name, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Policy.ID != tt.policyID {
				t.Errorf("policy %q, want %q", c.Policy.ID, tt.policyID)
			}
			if tt.vendors == -1 && len(c.Vendors) != len(builtin.Vendors) {
				t.Errorf("%d vendors, want the built-in %d", len(c.Vendors), len(builtin.Vendors))
			}
			if tt.name == "whole" && len(c.Vendors) >= len(builtin.Vendors) {
				t.Errorf("%d vendors: the file's catalog was not used", len(c.Vendors))
			}
		})
	}
	// A missing file is reported as such, for the caller to tell apart.
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	// The policy-only file restricts CrowdStrike and no longer Kaspersky.
	c, err := Load(policy)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Products {
		if want := p.Vendor == "crowdstrike"; c.Restricts(p) != want {
			t.Errorf("%s restricted %v under the policy-only file", p.ID, c.Restricts(p))
		}
	}
}
