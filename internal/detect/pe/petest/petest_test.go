package petest_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/avscout/avscout/internal/detect/pe"
	"github.com/avscout/avscout/internal/detect/pe/petest"
)

// The pe package, which avscout uses, reads back what petest wrote: the
// version resource's strings and fixed version, and the signer, whose
// signature matches the file.
func TestVersionAndSignature(t *testing.T) {
	exe, err := petest.WithVersion(petest.WindowsProgram(t), petest.Version{
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
