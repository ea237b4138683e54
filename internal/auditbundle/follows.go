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
		what                string
		prevLast, nextFirst int64
		prevHash, nextPrev  string
	}{
		{"report chain", prev.LastSeq, next.FirstSeq, prev.LastHash, next.PrevHash},
		{"access log's chain", prev.AccessLastSeq, next.AccessFirstSeq, prev.AccessLastHash, next.AccessPrevHash},
	}
	for _, c := range chains {
		switch {
		case c.prevLast > 0 && c.nextFirst > 0:
			if c.nextFirst != c.prevLast+1 || c.nextPrev != c.prevHash {
				faults = append(faults, fmt.Sprintf("the %s does not run on from the previous bundle: it ended at entry %d (hash %s), this bundle starts after entry %d (hash %s)",
					c.what, c.prevLast, short(c.prevHash), c.nextFirst-1, short(c.nextPrev)))
			}
		default:
			notes = append(notes, fmt.Sprintf("the %s's link to the previous bundle is not checked: one of the two windows has no entry", c.what))
		}
	}
	return faults, notes
}
