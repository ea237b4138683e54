package auditbundle

import (
	"fmt"
	"time"
)

// Follows checks that next, a verified bundle's header, takes over where
// prev, the previous audit's, ends: its window starts where prev's ends,
// both are signed by the same collector key, and each chain runs on from
// prev's last entry without a gap, so that no report and no action can
// have gone missing between the two audits. It returns what is wrong
// (empty: next follows prev) and notes of what could not be checked.
func Follows(prev, next Header) (faults, notes []string) {
	if !next.Since.Equal(prev.Until) {
		faults = append(faults, fmt.Sprintf("the windows do not meet: the previous bundle ends at %s, this one starts at %s",
			prev.Until.UTC().Format(time.RFC3339Nano), next.Since.UTC().Format(time.RFC3339Nano)))
	}
	if next.CollectorFingerprint != prev.CollectorFingerprint {
		faults = append(faults, fmt.Sprintf("signed by collector key %s, the previous bundle by %s", next.CollectorFingerprint, prev.CollectorFingerprint))
	}
	chains := []struct {
		what                 string
		prevLast, nextFirst  int64
		prevHash, nextPrev   string
		prevHead, nextHead   int64
		prevHeadH, nextHeadH string
	}{
		{"report chain", prev.LastSeq, next.FirstSeq, prev.LastHash, next.PrevHash,
			prev.HeadSeq, next.HeadSeq, prev.HeadHash, next.HeadHash},
		{"access log's chain", prev.AccessLastSeq, next.AccessFirstSeq, prev.AccessLastHash, next.AccessPrevHash,
			prev.AccessHeadSeq, next.AccessHeadSeq, prev.AccessHeadHash, next.AccessHeadHash},
	}
	for _, c := range chains {
		// The entry each side says comes right before next's window,
		// with its hash, where both sides know it.
		var at int64
		var prevSays, nextSays string
		switch {
		case c.prevLast > 0 && c.nextFirst > 0:
			at, prevSays, nextSays = c.prevLast, c.prevHash, c.nextPrev
			if c.nextFirst != c.prevLast+1 {
				faults = append(faults, fmt.Sprintf("the %s does not run on from the previous bundle: it ended at entry %d (hash %s), this bundle starts after entry %d (hash %s)",
					c.what, c.prevLast, short(c.prevHash), c.nextFirst-1, short(c.nextPrev)))
				continue
			}
		case c.prevLast == 0 && c.nextFirst > 0 && c.nextFirst-1 == c.prevHead && c.prevHead > 0:
			// prev's window was empty; its head was the entry before.
			at, prevSays, nextSays = c.prevHead, c.prevHeadH, c.nextPrev
		case c.prevLast > 0 && c.nextFirst == 0 && c.nextHead == c.prevLast:
			// next's window is empty and nothing was stored since prev's
			// last entry: next's head is that entry.
			at, prevSays, nextSays = c.prevLast, c.prevHash, c.nextHeadH
		default:
			notes = append(notes, fmt.Sprintf("the %s's link to the previous bundle is not checked: one of the two windows has no entry", c.what))
			continue
		}
		if prevSays != nextSays {
			faults = append(faults, fmt.Sprintf("the %s does not run on from the previous bundle: entry %d has hash %s there, %s here (history rewritten)",
				c.what, at, short(prevSays), short(nextSays)))
		}
	}
	return faults, notes
}
