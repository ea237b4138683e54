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
// /proc/self/smaps that what it chose is mapped in: every page of the
// program's read-only mappings, and the heap pages it populated.
func TestTouchMapsIn(t *testing.T) {
	regions, err := touch()
	if err != nil {
		// CI's Debian 12 kernel (6.1) has MADV_POPULATE_*; only a kernel
		// before 5.14 refuses it.
		t.Fatalf("touch: %v", err)
	}
	var reads, writes int
	for _, r := range regions {
		switch r.advice {
		case populateRead:
			reads++
		case populateWrite:
			writes++
		}
	}
	if reads < 2 || writes != 1 {
		t.Fatalf("touch chose %d read-only mappings and %d heap ranges, want the program's text and read-only data, and the heap: %v", reads, writes, regions)
	}
	rss := residentKB(t)
	for _, r := range regions {
		var kb int
		for lo, v := range rss {
			if lo <= r.lo && r.lo < v.hi {
				kb = v.rssKB
			}
		}
		want := int((r.hi - r.lo) >> 10)
		if r.advice == populateRead && kb != want {
			t.Errorf("%s %#x-%#x: %d KiB resident, want all %d", r.advice, r.lo, r.hi, kb, want)
		}
		if r.advice == populateWrite && kb < want {
			t.Errorf("%s %#x-%#x: its mapping has %d KiB resident, want at least the %d populated", r.advice, r.lo, r.hi, kb, want)
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
