package macpkg

import (
	"bytes"
	"testing"
)

// Bad input to the readers: every truncation of a valid archive, bytes
// flipped throughout, and garbage, must give an error or a result, never
// a panic (the fuzz targets below explore further with `go test -fuzz`).

func sampleArchives(t testing.TB) (xar, bom, cpio []byte) {
	var xb, bb, cb bytes.Buffer
	p := Product{Identifier: "io.example.app", Version: "1.2.3", Title: "x", MinOS: "12.0", Files: sampleTree(),
		Scripts: map[string][]byte{"postinstall": []byte("#!/bin/sh\nexit 0\n")}, ModTime: epoch}
	if err := p.Write(&xb); err != nil {
		t.Fatal(err)
	}
	if err := WriteBom(&bb, sampleTree()); err != nil {
		t.Fatal(err)
	}
	if err := WriteCPIO(&cb, sampleTree()); err != nil {
		t.Fatal(err)
	}
	return xb.Bytes(), bb.Bytes(), cb.Bytes()
}

func readXarAll(data []byte) error {
	x, err := OpenXar(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, e := range x.Entries {
		if !e.Dir {
			if _, err := x.ReadFile(e.Path); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestReadersRejectTruncated(t *testing.T) {
	x, b, c := sampleArchives(t)
	for n := range len(x) {
		if err := readXarAll(x[:n]); err == nil {
			t.Fatalf("xar truncated to %d bytes read without error", n)
		}
	}
	for n := range len(b) {
		// A Bom's trailing named-block table is what makes it whole.
		if _, err := ReadBom(b[:n]); err == nil {
			t.Fatalf("bom truncated to %d bytes read without error", n)
		}
	}
	for n := range len(c) {
		if _, err := ReadCPIO(bytes.NewReader(c[:n]), 1<<20); err == nil {
			t.Fatalf("cpio truncated to %d bytes read without error", n)
		}
	}
}

func TestReadersSurviveCorruption(t *testing.T) {
	x, b, c := sampleArchives(t)
	for i := range len(x) {
		bad := bytes.Clone(x)
		bad[i] ^= 0xff
		_ = readXarAll(bad)
	}
	for i := range len(b) {
		bad := bytes.Clone(b)
		bad[i] ^= 0xff
		_, _ = ReadBom(bad)
	}
	for i := range len(c) {
		bad := bytes.Clone(c)
		bad[i] ^= 0xff
		_, _ = ReadCPIO(bytes.NewReader(bad), 1<<20)
	}
	for _, g := range [][]byte{nil, []byte("xar!"), []byte("BOMStore"), bytes.Repeat([]byte{0xff}, 600), []byte("070707")} {
		if readXarAll(g) == nil {
			t.Errorf("xar accepted %q", g)
		}
		if _, err := ReadBom(g); err == nil {
			t.Errorf("bom accepted %q", g)
		}
		if _, err := ReadCPIO(bytes.NewReader(g), 1<<20); err == nil {
			t.Errorf("cpio accepted %q", g)
		}
	}
}

func FuzzReadXar(f *testing.F) {
	x, _, _ := sampleArchives(f)
	f.Add(x)
	f.Fuzz(func(t *testing.T, data []byte) { _ = readXarAll(data) })
}

func FuzzReadBom(f *testing.F) {
	_, b, _ := sampleArchives(f)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = ReadBom(data) })
}

func FuzzReadCPIO(f *testing.F) {
	_, _, c := sampleArchives(f)
	f.Add(c)
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = ReadCPIO(bytes.NewReader(data), 1<<20) })
}
