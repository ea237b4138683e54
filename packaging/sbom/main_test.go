package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildAgent cross-builds the real agent for goos/amd64, as `make cross` does.
func buildAgent(t *testing.T, goos string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "avscout-"+goos)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "github.com/avscout/avscout/cmd/agent")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// goVersionM is the independent oracle: the modules `go version -m` lists.
func goVersionM(t *testing.T, bin string) map[string]string {
	t.Helper()
	b, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	mods := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "dep" {
			mods[f[1]] = f[2]
		}
		if len(f) >= 4 && f[0] == "=>" {
			mods[f[1]] = f[2]
		}
	}
	return mods
}

func TestSBOMOfPackagedBinaries(t *testing.T) {
	linux, windows := buildAgent(t, "linux"), buildAgent(t, "windows")
	artifact := filepath.Join(t.TempDir(), "bundle.tar")
	if err := os.WriteFile(artifact, []byte("an artifact holding both binaries"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1764547200")

	var out, errOut bytes.Buffer
	if code := run([]string{"-artifact", artifact, "-version", "0.1.40", "-binary", linux, "-binary", windows}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var doc document
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("an artifact holding both binaries"))
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" || doc.Metadata.Timestamp != "2025-12-01T00:00:00Z" ||
		doc.Metadata.Component.Hashes[0].Content != hex.EncodeToString(sum[:]) || doc.Metadata.Component.Name != "bundle.tar" {
		t.Errorf("metadata %+v", doc.Metadata)
	}
	byRef := map[string]component{}
	for _, c := range doc.Components {
		if _, dup := byRef[c.BOMRef]; dup {
			t.Errorf("component %s listed twice", c.BOMRef)
		}
		byRef[c.BOMRef] = c
	}
	for _, bin := range []string{linux, windows} {
		for path, version := range goVersionM(t, bin) {
			c, ok := byRef["pkg:golang/"+path+"@"+version]
			if !ok || c.PURL != "pkg:golang/"+path+"@"+version {
				t.Errorf("module %s %s (in %s) missing: %+v", path, version, filepath.Base(bin), c)
			}
		}
	}
	// The Windows binary links modules the Linux one does not (WMI, OLE).
	if _, ok := byRef["pkg:golang/github.com/yusufpapurcu/wmi@v1.2.4"]; !ok {
		t.Error("the Windows binary's WMI module is missing")
	}
	apps := 0
	for _, c := range doc.Components {
		if c.Type == "application" {
			apps++
			if c.Name != "avscout" || c.Version != "0.1.40" || !strings.HasPrefix(c.PURL, "pkg:golang/github.com/avscout/avscout@v0.1.40#cmd/agent") {
				t.Errorf("application %+v", c)
			}
		}
	}
	if apps != 2 {
		t.Errorf("%d applications, want 2", apps)
	}
	if len(doc.Dependencies) != len(doc.Components)+1 || doc.Dependencies[0].Ref != "artifact" || len(doc.Dependencies[0].DependsOn) != 2 {
		t.Errorf("dependencies: %d for %d components; first %+v", len(doc.Dependencies), len(doc.Components), doc.Dependencies[0])
	}

	// Same inputs, same document (reproducible releases).
	var again bytes.Buffer
	run([]string{"-artifact", artifact, "-version", "0.1.40", "-binary", linux, "-binary", windows}, &again, &errOut)
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("two runs on the same inputs differ")
	}
}

func TestSBOMBadInput(t *testing.T) {
	dir := t.TempDir()
	notGo := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(notGo, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  string
		code int
		want string
	}{
		{"no args", nil, "", 2, "usage"},
		{"no binary", []string{"-artifact", notGo, "-version", "1"}, "", 2, "usage"},
		{"not a Go binary", []string{"-artifact", notGo, "-version", "1", "-binary", notGo}, "", 1, "no Go build information"},
		{"missing artifact", []string{"-artifact", filepath.Join(dir, "nope"), "-version", "1", "-binary", notGo}, "", 1, "no such file"},
		{"artifact is a folder", []string{"-artifact", dir, "-version", "1", "-binary", notGo}, "", 1, "not a regular file"},
		{"bad epoch", []string{"-artifact", notGo, "-version", "1", "-binary", notGo}, "yesterday", 2, "SOURCE_DATE_EPOCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tt.env)
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code != tt.code || !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
				t.Errorf("exit %d, stderr %q, stdout %d bytes; want %d and %q", code, errOut.String(), out.Len(), tt.code, tt.want)
			}
		})
	}
}
