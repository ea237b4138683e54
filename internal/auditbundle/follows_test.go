package auditbundle

import (
	"strings"
	"testing"
	"time"
)

func TestFollows(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	prev := Header{Since: t0, Until: t0.Add(24 * time.Hour), FirstSeq: 1, LastSeq: 10, PrevHash: "00", LastHash: "aa",
		AccessFirstSeq: 1, AccessLastSeq: 3, AccessPrevHash: "00", AccessLastHash: "bb", CollectorFingerprint: "SHA256:k"}
	follows := Header{Since: t0.Add(24 * time.Hour), Until: t0.Add(48 * time.Hour), FirstSeq: 11, LastSeq: 20, PrevHash: "aa", LastHash: "cc",
		AccessFirstSeq: 4, AccessLastSeq: 5, AccessPrevHash: "bb", AccessLastHash: "dd", CollectorFingerprint: "SHA256:k"}
	edit := func(f func(*Header)) Header { h := follows; f(&h); return h }
	tests := []struct {
		name       string
		next       Header
		faults     []string // each a part of one fault, in order
		notesCount int
	}{
		{"takes over", follows, nil, 0},
		{"a window skipped", edit(func(h *Header) { h.Since = h.Since.Add(time.Hour) }), []string{"the windows do not meet"}, 0},
		{"reports missing between", edit(func(h *Header) { h.FirstSeq, h.PrevHash = 13, "ee" }),
			[]string{"report chain does not run on from the previous bundle: it ended at entry 10 (hash aa), this bundle starts after entry 12 (hash ee)"}, 0},
		{"history rewritten", edit(func(h *Header) { h.PrevHash = "ff" }), []string{"report chain does not run on"}, 0},
		{"actions missing between", edit(func(h *Header) { h.AccessFirstSeq = 6 }), []string{"access log's chain does not run on"}, 0},
		{"another collector key", edit(func(h *Header) { h.CollectorFingerprint = "SHA256:m" }), []string{"signed by collector key SHA256:m, the previous bundle by SHA256:k"}, 0},
		{"no report in this window", edit(func(h *Header) { h.FirstSeq, h.LastSeq, h.PrevHash, h.LastHash, h.HeadSeq = 0, 0, "", "", 12 }), nil, 1},
		{"no report in this window, none since", edit(func(h *Header) {
			h.FirstSeq, h.LastSeq, h.PrevHash, h.LastHash, h.HeadSeq, h.HeadHash = 0, 0, "", "", 10, "aa"
		}), nil, 0},
		{"no report in this window, none since, rewritten", edit(func(h *Header) {
			h.FirstSeq, h.LastSeq, h.PrevHash, h.LastHash, h.HeadSeq, h.HeadHash = 0, 0, "", "", 10, "ee"
		}), []string{"entry 10 has hash aa there, ee here"}, 0},
	}
	// After an empty window whose head was entry 10.
	emptyPrev := prev
	emptyPrev.FirstSeq, emptyPrev.LastSeq, emptyPrev.PrevHash, emptyPrev.LastHash, emptyPrev.HeadSeq, emptyPrev.HeadHash = 0, 0, "", "", 10, "aa"
	if faults, notes := Follows(emptyPrev, follows); len(faults) != 0 || len(notes) != 0 {
		t.Errorf("after an empty window: faults %q, notes %q", faults, notes)
	}
	if faults, _ := Follows(emptyPrev, edit(func(h *Header) { h.PrevHash = "ee" })); len(faults) != 1 || !strings.Contains(faults[0], "history rewritten") {
		t.Errorf("after an empty window, rewritten: %q", faults)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			faults, notes := Follows(prev, tt.next)
			if len(faults) != len(tt.faults) || len(notes) != tt.notesCount {
				t.Fatalf("faults %q, notes %q; want %d faults, %d notes", faults, notes, len(tt.faults), tt.notesCount)
			}
			for i, want := range tt.faults {
				if !strings.Contains(faults[i], want) {
					t.Errorf("fault %q, want it to say %q", faults[i], want)
				}
			}
		})
	}
}
