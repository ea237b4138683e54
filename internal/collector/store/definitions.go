package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/text"
)

// Bounds of an evidence summary: items shown, and bytes in all.
const (
	summaryItems = 3
	summaryBytes = 400
)

// evidenceSummary is the first few of a product's evidence items as
// "source kind: value" ("source: value" where the value starts with its
// kind), joined by "; ", then "(+N more)"; cleaned and clipped, for the
// exports.
func evidenceSummary(ev []report.Evidence) string {
	var b strings.Builder
	for i, e := range ev {
		if i == summaryItems {
			b.WriteString(" (+" + strconv.Itoa(len(ev)-i) + " more)")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		item := e.Source + " " + e.Kind + ": " + e.Value
		if strings.HasPrefix(e.Value, e.Kind+" ") {
			item = e.Source + ": " + e.Value
		}
		b.WriteString(text.Clip(clean(item), summaryBytes/summaryItems))
	}
	return text.Clip(b.String(), summaryBytes)
}

// inUse is the SQL condition, over host_products p, of a product active
// or installed: a leftover's definitions date is history, not health.
const inUse = "p.state IN ('" + report.StateActive + "', '" + report.StateInstalled + "')"

// definitionsStopped is the SQL condition, over host_products p, of a
// restricted product in use whose definitions stopped when its policy
// barred updates (see [StoppedAtBan]).
const definitionsStopped = inUse + " AND p.restricted = 1 AND p.definitions_stopped = 1"

// stoppedWindow is how long before the day updates were barred a product's
// last definitions update counts as "stopped then": products update their
// definitions daily, so one that was updating until the ban has a date
// days before it; an older date stopped for some other reason.
const stoppedWindow = 31 * 24 * time.Hour

// StoppedAtBan reports whether definitions dated defs stopped when updates
// were barred from ended: within [stoppedWindow] before that day, and no
// later. Both are YYYY-MM-DD; a date that is not one gives false.
func StoppedAtBan(defs, ended string) bool {
	d, err1 := time.Parse(time.DateOnly, defs)
	e, err2 := time.Parse(time.DateOnly, ended)
	return err1 == nil && err2 == nil && !d.After(e) && e.Sub(d) < stoppedWindow
}

// countDefinitionsStopped counts the hosts with a product whose
// definitions stopped (see [HostFilter.DefinitionsStopped]).
func (s *Store) countDefinitionsStopped(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT COUNT(DISTINCT p.host_id) FROM host_products p WHERE "+definitionsStopped).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting hosts whose definitions stopped: %w", err)
	}
	return n, nil
}

// dateOrEmpty is s when it is a YYYY-MM-DD date, else "": a date an agent
// sends is only compared, never trusted to be one.
func dateOrEmpty(s string) string {
	if isDate(s) {
		return s
	}
	return ""
}

// isDate reports whether s is a real YYYY-MM-DD date.
func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil && len(s) == len(time.DateOnly)
}
