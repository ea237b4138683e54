//go:build amd64 || arm64

package pretouch

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestTouchMapsIn runs touch in this test process and reads in
// /proc/self/smaps that what it chose is mapped in: every page of the
// program's read-only mappings (a test run reads only about 83% of its
// text without touch), and at least the populated part of the heap's
// mapping. The kernel may reclaim a page cache page between the two
// under memory pressure; a second touch and reading then decide.
func TestTouchMapsIn(t *testing.T) {
	var short []string
	for attempt := 0; attempt < 2; attempt++ {
		regions, err := touch()
		if err != nil {
			// CI's Debian 12 kernel (6.1) has MADV_POPULATE_*; only a
			// kernel before 5.14 refuses it.
			t.Fatalf("touch: %v", err)
		}
		var reads, writes int
		for _, r := range regions {
			if r.advice == populateRead {
				reads++
			} else {
				writes++
			}
		}
		if reads < 2 || writes != 1 {
			t.Fatalf("touch chose %v, want the program's text and read-only data, and the heap", regions)
		}
		rss := residentKB(t)
		short = nil
		for _, r := range regions {
			var e smapsEntry
			var lo uintptr
			for l, v := range rss {
				if l <= r.lo && r.lo < v.hi {
					lo, e = l, v
				}
			}
			if e.hi == 0 || r.hi > e.hi {
				t.Fatalf("%v is not inside a mapping of /proc/self/smaps", r)
			}
			want := int((r.hi - r.lo) >> 10)
			switch {
			case r.advice == populateRead && (lo != r.lo || e.rssKB != want):
				short = append(short, fmt.Sprintf("%#x-%#x: %d KiB resident, want all %d", r.lo, r.hi, e.rssKB, want))
			case r.advice == populateWrite && e.rssKB < want:
				short = append(short, fmt.Sprintf("heap %#x-%#x: its mapping has %d KiB resident, want at least the %d populated", r.lo, r.hi, e.rssKB, want))
			}
		}
		if short == nil {
			return
		}
	}
	t.Error(strings.Join(short, "\n"))
}

type smapsEntry struct {
	hi    uintptr
	rssKB int
}

// residentKB reads /proc/self/smaps: each mapping's start, end and Rss.
func residentKB(t *testing.T) map[uintptr]smapsEntry {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	out := map[uintptr]smapsEntry{}
	var cur uintptr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if m, err := parseMapsLine([]byte(line)); err == nil {
			cur = m.lo
			out[cur] = smapsEntry{hi: m.hi}
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("smaps: %q: %v", line, err)
			}
			e := out[cur]
			e.rssKB = kb
			out[cur] = e
		}
	}
	return out
}
