package collector

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/text"
)

// defaultTrendDays is how many days GET /v1/summary/trend returns unless
// asked.
const defaultTrendDays = 30

// checkParams refuses query parameters other than allowed, and any given
// twice or longer than maxFilterValue.
func checkParams(r *http.Request, allowed ...string) error {
	for name, vals := range r.URL.Query() {
		if !slices.Contains(allowed, name) {
			return fmt.Errorf("unknown query parameter %q", text.Clip(name, 40))
		}
		if len(vals) > 1 {
			return fmt.Errorf("%s: given more than once", name)
		}
		if len(vals[0]) > maxFilterValue {
			return fmt.Errorf("%s: longer than %d bytes", name, maxFilterValue)
		}
	}
	return nil
}

// handleTrend answers GET /v1/summary/trend?days=1…366: the fleet at the
// end of each day, oldest first, today as of now (the numbers of
// GET /v1/summary).
func (s *Server) handleTrend(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r, "days"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	days := defaultTrendDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxTrendDays {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("days: want a whole number from 1 to %d", store.MaxTrendDays))
			return
		}
		days = n
	}
	trend, err := s.store.Trend(r.Context(), days, s.staleAfter)
	if err != nil {
		s.storeError(w, "trend", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		StaleAfterSeconds int64            `json:"stale_after_seconds"`
		Days              []store.TrendDay `json:"days"`
	}{int64(s.staleAfter.Seconds()), trend})
}

// handleBreakdown answers GET /v1/summary/breakdown?by=os|vendor|tag:KEY
// (the current hosts by OS, the restricted hosts by vendor and product,
// or the hosts by a tag's value) and, without by, the tag keys there are.
func (s *Server) handleBreakdown(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r, "by"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	by := r.URL.Query().Get("by")
	if by == "" {
		keys, err := s.store.TagKeys(r.Context())
		if err != nil {
			s.storeError(w, "tag keys", err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			TagKeys []store.TagKey `json:"tag_keys"`
		}{keys})
		return
	}
	b, err := s.store.Breakdown(r.Context(), by, s.staleAfter)
	if err != nil {
		s.storeError(w, "breakdown", err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}
