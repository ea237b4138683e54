package rpm

import (
	"encoding/binary"
	"os"
	"testing"
)

// The fuzz targets check that no input makes the parsers panic, loop or
// return a package without a name. `go test` runs the seeds; run
// `go test -fuzz=FuzzBDB ./internal/detect/rpm` to search further.

func FuzzParseHeader(f *testing.F) {
	f.Add(makeHeader(kaspersky()...))
	f.Add(makeHeader(str(tagName, "a"), i32(tagEpoch, 3)))
	if b, err := os.ReadFile(sample(f, "blob.bin")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		p, err := parseHeader(blob)
		if err == nil && p.name == "" {
			t.Fatal("a package without a name")
		}
	})
}

func fuzzDB(t *testing.T, data []byte) {
	pkgs, _ := readBytes(data)
	for _, p := range pkgs {
		if p.name == "" {
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
	f.Fuzz(fuzzDB)
}
