package macho_test

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"

	"github.com/avscout/avscout/internal/detect/macho"
	"github.com/avscout/avscout/internal/detect/macho/machotest"
	"github.com/avscout/avscout/internal/hostile"
)

// FuzzRead feeds the parser arbitrary bytes: it must never panic, must
// fail only with its own errors (or the reader's), and must not claim a
// team for input that is not signed.
func FuzzRead(f *testing.F) {
	f.Add(hostile.MachO())
	f.Add(hostile.MachOFat(4, 256)) // the corpus's universal file of slices claiming load commands, small
	for _, arch := range []string{"arm64", "amd64"} {
		bin, err := machotest.Minimal(arch)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bin)
		signed, err := machotest.Sign(bin, machotest.Options{Identifier: "com.kaspersky.kav", TeamID: "2Y8XE5CQ94"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
		fat, err := machotest.Fat(signed, bin)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fat)
		fat64, err := machotest.Fat64(signed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fat64)
	}
	for _, s := range []string{"", "\xca\xfe\xba\xbe\x00\x00\x00\x34", "\xcf\xfa\xed\xfe", "\xfe\xed\xfa\xce\x00\x00\x00\x12", "#!/bin/sh\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sigs, err := macho.Read(bytes.NewReader(data), int64(len(data)))
		if err != nil && !errors.Is(err, macho.ErrMalformed) && !errors.Is(err, macho.ErrNotMachO) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		for _, s := range sigs {
			if !s.Signed && (s.TeamID != "" || s.Identifier != "") {
				t.Fatalf("unsigned slice with identity: %+v", s)
			}
		}
		// A reader that fails part way gives an error, not a panic.
		_, _ = macho.Read(&failingReader{r: bytes.NewReader(data), left: 3}, int64(len(data)))
	})
}

// failingReader fails every read after the first left ones.
type failingReader struct {
	r    *bytes.Reader
	left int
}

func (f *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if f.left <= 0 {
		return 0, iotest.ErrTimeout
	}
	f.left--
	return f.r.ReadAt(p, off)
}
