package pe

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/hostile"
)

// countingReader counts the reads made of a file.
type countingReader struct {
	r     *bytes.Reader
	reads atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	return c.r.ReadAt(p, off)
}

// The 1 MiB executable — 4,096 RT_VERSION types all pointing at
// one directory of 4,096 names, each pointing at an empty language
// directory — made the walk read 16 million directories (57 CPU-seconds).
// Each directory is now read once, and the shared one is reported.
func TestVersionInfoQuadraticResources(t *testing.T) {
	b := hostile.QuadraticResources()
	cr := &countingReader{r: bytes.NewReader(b)}
	img, err := Open(cr, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = img.VersionInfo()
	t.Logf("%v after %d reads in %s", err, cr.reads.Load(), time.Since(start))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "reached twice") {
		t.Errorf("err = %v, want a malformed image whose directory is reached twice", err)
	}
	// One read for the header and one for the entries of each of the
	// three directories, plus Open's: a handful, not millions.
	if n := cr.reads.Load(); n > 20 {
		t.Errorf("%d reads: the walk reads directories more than once", n)
	}
}

// Many distinct directories are read, each once, up to a bound.
func TestVersionInfoManyDirectories(t *testing.T) {
	const n = 4096
	namesOff := uint32(16 + 8)
	firstLang := namesOff + 16 + 8*n
	ids := make([]uint32, n)
	to := make([]uint32, n)
	for i := range ids {
		ids[i], to[i] = uint32(i+1), firstLang+uint32(16*i)
	}
	rsrc := resourceDirForTest([]uint32{rtVersion}, []uint32{namesOff})
	rsrc = append(rsrc, resourceDirForTest(ids, to)...)
	rsrc = append(rsrc, make([]byte, 16*n)...) // n empty language directories
	b := hostile.PE(rsrc, 0)
	img, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.VersionInfo(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "more than 4096 resource directories") {
		t.Errorf("err = %v", err)
	}
}

func resourceDirForTest(ids, offsets []uint32) []byte {
	b := make([]byte, 16+8*len(ids))
	b[14], b[15] = byte(len(ids)), byte(len(ids)>>8)
	for i := range ids {
		put := func(at int, v uint32) {
			b[at], b[at+1], b[at+2], b[at+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
		put(16+8*i, ids[i])
		put(20+8*i, offsets[i]|0x80000000)
	}
	return b
}
