package rpmdb

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/avscout/avscout/internal/hostile"
)

// goRPMDBBlob returns a real header blob, testdata/blob.bin of go-rpmdb
// v0.1.1 (downloaded into the module cache if need be).
func goRPMDBBlob(t testing.TB) []byte {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/knqyf263/go-rpmdb@v0.1.1").Output()
	var mod struct{ Dir string }
	if err == nil {
		err = json.Unmarshal(out, &mod)
	}
	if err != nil || mod.Dir == "" {
		t.Fatalf("go mod download github.com/knqyf263/go-rpmdb@v0.1.1: %v %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(mod.Dir, "pkg", "testdata", "blob.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The fuzz targets check that no input makes the parsers panic, loop or
// return a package without a name. `go test` runs the seeds; run
// `go test -fuzz=FuzzBDB ./internal/detect/rpm` to search further.

func FuzzParseHeader(f *testing.F) {
	f.Add(makeHeader(kaspersky()...))
	f.Add(makeHeader(str(tagName, "a"), i32(tagEpoch, 3)))
	f.Add(goRPMDBBlob(f))
	f.Add(hostile.KESLHeader())
	f.Add(hostile.RPMHeaderClaims(64, 8192)) // the hostile corpus's huge counts, small
	f.Fuzz(func(t *testing.T, blob []byte) {
		p, err := ParseHeader(blob)
		if err == nil && p.Name == "" {
			t.Fatal("a package without a name")
		}
	})
}

func fuzzDB(t *testing.T, data []byte) {
	pkgs, _ := readBytes(data)
	for _, p := range pkgs {
		if p.Name == "" {
			t.Fatal("a package without a name")
		}
	}
}

func FuzzBDB(f *testing.F) {
	blobs, _ := testHeaders(3)
	f.Add(makeBDB(binary.LittleEndian, 512, blobs...))
	f.Add(makeBDB(binary.BigEndian, 512, blobs[:1]...))
	f.Fuzz(fuzzDB)
}

func FuzzNDB(f *testing.F) {
	blobs, _ := testHeaders(3)
	f.Add(makeNDB(blobs...))
	f.Add(hostile.NDB(hostile.KESLHeader(), hostile.RPMHeaderClaims(64, 8192)))
	huge := hostile.NDB(hostile.KESLHeader())
	hostile.NDBHugeSlot(huge, 1, 2, 1<<16, 1<<26)
	f.Add(huge)
	f.Fuzz(fuzzDB)
}
