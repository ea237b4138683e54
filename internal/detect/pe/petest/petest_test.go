package petest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/avscout/avscout/internal/detect/pe"
	"github.com/avscout/avscout/internal/detect/pe/petest"
)

// goExe cross-compiles a minimal Go program for windows/amd64.
func goExe(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module tiny\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "tiny.exe")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cross-compile: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The pe package, which avscout uses, reads back what petest wrote: the
// version resource's strings and fixed version, and the signer, whose
// signature matches the file.
func TestVersionAndSignature(t *testing.T) {
	exe, err := petest.WithVersion(goExe(t), petest.Version{
		CompanyName:      "Rebellion",
		ProductName:      "Aliens vs. Predator",
		FileDescription:  "Aliens vs. Predator",
		FileVersion:      "1.0.0.21",
		ProductVersion:   "1.0.0.21",
		OriginalFilename: "AvP.exe",
	})
	if err != nil {
		t.Fatal(err)
	}
	signed := petest.Sign(t, exe, petest.NewSigner(t, t.TempDir(), "Rebellion Developments Ltd", "GB"))

	img, err := pe.Open(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	vi, err := img.VersionInfo()
	if err != nil {
		t.Fatal(err)
	}
	if vi.CompanyName != "Rebellion" || vi.ProductName != "Aliens vs. Predator" || vi.OriginalFilename != "AvP.exe" ||
		vi.FixedFileVersion != "1.0.0.21" || vi.ProductVersion != "1.0.0.21" {
		t.Errorf("version info = %+v", vi)
	}
	sigs, err := img.Signatures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 1 || !sigs[0].Valid() || sigs[0].Name() != "Rebellion Developments Ltd" {
		t.Errorf("signatures = %+v", sigs)
	}

	// A second resource section is refused, not stacked.
	if _, err := petest.WithVersion(exe, petest.Version{CompanyName: "x"}); err == nil {
		t.Error("WithVersion added a second resource section")
	}
}
