package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/internal/report/schema"
)

func TestUsageErrors(t *testing.T) {
	root := newRoot(t, "usage", debian12OSRelease)
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no command", nil, "Usage"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"scan", "--bogus"}, "bogus"},
		{"bad format", []string{"scan", "--format", "xml"}, `unknown --format "xml"`},
		{"bad fail-on", []string{"scan", "--fail-on", "anything"}, `unknown --fail-on "anything"`},
		{"bad os", []string{"scan", "--root", root, "--os", "beos"}, `unknown OS "beos"`},
		{"missing root", []string{"scan", "--root", filepath.Join(root, "nope")}, "nope"},
		{"unknown source", []string{"scan", "--root", root, "--sources", "dpkg,registry"}, `unknown source "registry"`},
		{"missing catalog", []string{"scan", "--catalog", filepath.Join(root, "none.yaml")}, "none.yaml"},
		{"stray argument", []string{"scan", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := avscout(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantErr)
			}
			if stdout != "" && tt.name != "no command" {
				t.Errorf("wrote to stdout on error: %q", stdout)
			}
		})
	}
}

func TestScanOutputFile(t *testing.T) {
	root := newRoot(t, "out", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{{Name: "klnagent64", Version: "15.1.0-20748", Maintainer: kasperskyMaintainer}})
	out := filepath.Join(t.TempDir(), "report.json")
	stdout, stderr, code := avscout(t, "scan", "--root", root, "--format", "json", "--output", out)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(out)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("report file mode %v, want 0600: reports describe a host's defences", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// A file holding only a policy replaces the built-in policy and keeps the
// built-in vendor knowledge.
func TestScanPolicyOnlyCatalog(t *testing.T) {
	root := newRoot(t, "policy", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "kesl", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer},
		{Name: "falcon-sensor", Version: "7.18.0-17106", Maintainer: "CrowdStrike, Inc. <support@crowdstrike.com>"},
	})
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, policy, `policy:
  id: acme-2026
  rules:
    - id: acme-no-crowdstrike
      vendors: [crowdstrike]
      reason: "Acme's own policy forbids this vendor."
`)
	r, _ := scanJSON(t, 1, "--root", root, "--catalog", policy, "--fail-on", "restricted")
	for _, p := range r.Products {
		wantRestricted := p.Vendor == "CrowdStrike"
		if p.Restricted != wantRestricted {
			t.Errorf("%s restricted %v under the custom policy", p.ID, p.Restricted)
		}
		if p.Restricted && (p.Policy == nil || p.Policy.Rule != "acme-no-crowdstrike") {
			t.Errorf("%s policy %+v", p.ID, p.Policy)
		}
	}
	if len(r.Products) != 2 {
		t.Errorf("products %v, want KESL and Falcon", productIDs(r))
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, bad, "policy:\n  id: x\n  rules:\n    - id: r\n      vendors: [nobody]\n      reason: x\n")
	if _, stderr, code := avscout(t, "scan", "--root", root, "--catalog", bad); code != exitUsage || !strings.Contains(stderr, `unknown vendor "nobody"`) {
		t.Errorf("bad policy: exit %d, stderr %s", code, stderr)
	}
}

func TestCatalogCommand(t *testing.T) {
	out, stderr, code := avscout(t, "catalog")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Kaspersky Endpoint Security for Linux", "bis-icts-2021-002", "Microsoft Defender"} {
		if !strings.Contains(out, want) {
			t.Errorf("catalog table lacks %q", want)
		}
	}
	out, _, code = avscout(t, "catalog", "--format", "json")
	var doc struct {
		Version  string
		Products []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Products) < 30 {
		t.Errorf("catalog json: exit %d, %d products, %v", code, len(doc.Products), err)
	}
	out, _, _ = avscout(t, "version")
	if !strings.HasPrefix(out, "avscout ") {
		t.Errorf("version: %q", out)
	}
}
