package dashboard

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// absLayout is how pages print a point in time: always UTC, to the second,
// so that admins in different time zones quote the same value.
const absLayout = "2006-01-02 15:04:05 UTC"

// stamp is a point in time as pages show it.
type stamp struct {
	Rel string // "3 hours ago"; "never" for the zero time
	Abs string // "2026-11-22 10:00:00 UTC"; empty for the zero time
	ISO string // RFC 3339, for <time datetime>; empty for the zero time
}

// newStamp describes t as seen at now.
func newStamp(now, t time.Time) stamp {
	if t.IsZero() {
		return stamp{Rel: "never"}
	}
	return stamp{
		Rel: relTime(now, t),
		Abs: t.UTC().Format(absLayout),
		ISO: t.UTC().Format(time.RFC3339),
	}
}

// relTime says how long before now t was, in the largest whole unit
// ("5 minutes ago", "1 day ago"), or how long after ("in 2 hours") when
// the clocks disagree. Less than a minute either way is "just now"; the
// zero time is "never".
func relTime(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	const day = 24 * time.Hour
	var n int64
	var unit string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		n, unit = int64(d/time.Minute), "minute"
	case d < day:
		n, unit = int64(d/time.Hour), "hour"
	case d < 60*day:
		n, unit = int64(d/day), "day"
	case d < 730*day:
		n, unit = int64(d/(30*day)), "month"
	default:
		n, unit = int64(d/(365*day)), "year"
	}
	s := plural(n, unit)
	if future {
		return "in " + s
	}
	return s + " ago"
}

// plural writes n and the unit, with an "s" unless n is 1: "1 host",
// "3 hosts".
func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// humanDuration writes d in the largest unit that divides it exactly
// ("3 days", "36 hours", "90 minutes"), falling back to Go's notation.
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d <= 0:
		return d.String()
	case d%day == 0:
		return plural(int64(d/day), "day")
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	default:
		return d.String()
	}
}

// percent writes part/whole as a percentage with one decimal ("87.5 %"),
// never rounding a partial share to 0 % or 100 %: 9,999 of 10,000 hosts
// compliant is "99.9 %", not "100.0 %". An empty whole is "–".
func percent(part, whole int) string {
	if whole <= 0 {
		return "–"
	}
	tenths := (int64(part)*1000 + int64(whole)/2) / int64(whole)
	switch {
	case part > 0 && part < whole && tenths == 0:
		tenths = 1
	case part < whole && tenths >= 1000:
		tenths = 999
	}
	return fmt.Sprintf("%d.%d %%", tenths/10, tenths%10)
}

// badge is a state shown as a coloured label; the text says it all, the
// colour only repeats it.
type badge struct {
	Label string
	Class string // one of a fixed set of CSS classes
}

// hostBadge is the badge of a host state (restricted, incomplete,
// unprotected, clean).
func hostBadge(state string) badge {
	return lookupBadge(state, state)
}

// productBadge is the badge of a product state. A restricted product is
// alarming while active or installed; any other product's state is
// neutral information.
func productBadge(state string, restricted bool) badge {
	b := lookupBadge(state, state)
	if !restricted && b.Class != "unknown" {
		b.Class = "neutral"
	}
	return b
}

// sourceBadge is the badge of a detection source's status.
func sourceBadge(status string) badge {
	return lookupBadge(status, status)
}

// lookupBadge finds the badge of a host state, product state or source
// status. Anything else keeps its text (escaped by the template like any
// agent string) under the class "unknown", so that no agent-influenced
// string ever becomes a class name.
func lookupBadge(key, text string) badge {
	switch key {
	case store.HostRestricted:
		return badge{"Restricted", "bad"}
	case store.HostIncomplete:
		return badge{"Incomplete", "warn"}
	case store.HostUnprotected:
		return badge{"Unprotected", "warn"}
	case store.HostClean:
		return badge{"Clean", "good"}
	case report.StateActive:
		return badge{"Active", "bad"}
	case report.StateInstalled:
		return badge{"Installed", "bad"}
	case report.StateLeftover:
		return badge{"Leftover", "muted"}
	case report.StatusOK:
		return badge{"OK", "good"}
	case report.StatusError:
		return badge{"Error", "bad"}
	case report.StatusUnavailable:
		return badge{"Unavailable", "muted"}
	case report.StatusTimeout:
		return badge{"Timeout", "warn"}
	}
	if text == "" {
		text = "unknown"
	}
	return badge{Label: text, Class: "unknown"}
}

// changeLabel names a kind of history entry; an unknown kind shows as is.
func changeLabel(kind string) string {
	switch kind {
	case store.ChangeFirstReport:
		return "First report"
	case store.ChangeCompliance:
		return "Compliance changed"
	case store.ChangeAdded:
		return "Product added"
	case store.ChangeRemoved:
		return "Product removed"
	case store.ChangeState:
		return "State changed"
	case store.ChangeVersion:
		return "Version changed"
	}
	return kind
}

// reportPath is the API address of a stored report; "/raw" and
// "/signature" follow it. Report ids are UUIDs (the collector refuses
// others), so escaping is a guard only.
func reportPath(id string) string { return "/v1/reports/" + url.PathEscape(id) }

// hostPath is the dashboard address of the host page for id. A host id
// comes from an agent and may hold anything: ordinary ids are
// path-escaped, but an id with a slash or that is "." or ".." would be
// rewritten by any router that cleans paths (the id "x/../y" would open
// the page of host "y"), so such ids, and ids starting with "~", travel as
// "~" followed by their unpadded base64url form. [hostIDFromPath] reverses
// it.
func hostPath(id string) string {
	if strings.Contains(id, "/") || id == "." || id == ".." || strings.HasPrefix(id, "~") {
		return "/hosts/~" + base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	return "/hosts/" + url.PathEscape(id)
}

// hostIDFromPath returns the host id of the unescaped last segment of a
// [hostPath] address, and false when it cannot be one.
func hostIDFromPath(seg string) (string, bool) {
	if seg == "" {
		return "", false
	}
	if enc, ok := strings.CutPrefix(seg, "~"); ok {
		b, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || len(b) == 0 {
			return "", false
		}
		return string(b), true
	}
	if strings.Contains(seg, "/") {
		return "", false
	}
	return seg, true
}

// rawReportURL is where a stored report is served as received, or "" for
// no id.
func rawReportURL(id string) string {
	if id == "" {
		return ""
	}
	return reportPath(id) + "/raw"
}
