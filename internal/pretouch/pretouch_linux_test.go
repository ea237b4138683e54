package pretouch

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestTouchMapsIn runs touch in this test process and reads in
// /proc/self/smaps that every page of the mappings it chose is mapped in:
// a test run reads only part of the program's text.
func TestTouchMapsIn(t *testing.T) {
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
	for _, r := range regions {
		e, ok := rss[r.lo]
		if !ok || e.hi != r.hi {
			t.Errorf("%#x-%#x is not a mapping of /proc/self/smaps", r.lo, r.hi)
			continue
		}
		if want := int((r.hi - r.lo) >> 10); e.rssKB != want {
			t.Errorf("%#x-%#x: %d KiB resident, want all %d", r.lo, r.hi, e.rssKB, want)
		}
	}
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
