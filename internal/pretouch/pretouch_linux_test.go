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
// /proc/self/smaps that every page of the mappings it chose is mapped in:
// a test run reads only part of the program's text (about 83% of it
// without touch). The kernel may reclaim a page between the two under
// memory pressure; a second touch and reading then decide.
func TestTouchMapsIn(t *testing.T) {
	var short []string
	for attempt := 0; attempt < 2; attempt++ {
		regions, err := touch()
		if err != nil {
			// CI's Debian 12 kernel (6.1) has MADV_POPULATE_READ; only a
			// kernel before 5.14 refuses it.
			t.Fatalf("touch: %v", err)
		}
		if len(regions) < 2 {
			t.Fatalf("touch chose %v, want the program's text and read-only data", regions)
		}
		rss := residentKB(t)
		short = nil
		for _, r := range regions {
			e, ok := rss[r.lo]
			if !ok || e.hi != r.hi {
				t.Fatalf("%#x-%#x is not a mapping of /proc/self/smaps", r.lo, r.hi)
			}
			if want := int((r.hi - r.lo) >> 10); e.rssKB != want {
				short = append(short, fmt.Sprintf("%#x-%#x: %d KiB resident, want all %d", r.lo, r.hi, e.rssKB, want))
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
