package collector

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/avscout/avscout/internal/collector/store"
)

// The access log: every request an administrator credential makes is
// written to the audit log (store.AuditRead, or store.AuditExport for the
// exports and report downloads) before it is answered, with the
// credential's name, the client's address, the path and the query. The
// changes (rekey) write their own entries. Stylesheets are not logged: a
// page view is. Nor is /metrics: a monitoring system scrapes it every few
// seconds, it holds counters and no host's data, and its entries would
// bury the people's.
//
// A read that cannot be logged is refused (503), so that nobody reads the
// fleet's data unrecorded while the database is down.

// AuditLimit bounds the entries GET /v1/audit returns.
const AuditLimit = 1000

// accessAction is the audit action of an admin request, and false for
// one not logged.
func accessAction(r *http.Request) (string, bool) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/static/"), p == "/metrics":
		return "", false
	case p == "/v1/export", p == "/v1/audit/export", strings.HasPrefix(p, "/v1/reports/"):
		return store.AuditExport, true
	}
	return store.AuditRead, true
}

// logAccess writes r's entry; false when it could not and r must not be
// answered.
func (s *Server) logAccess(ctx context.Context, r *http.Request, credential string) bool {
	action, ok := accessAction(r)
	if !ok || r.Method == http.MethodPost { // a change writes its own entry
		return true
	}
	err := s.store.Audit(ctx, store.AuditEntry{
		At: s.now(), Credential: credential, Remote: r.RemoteAddr,
		Action: action, Target: r.URL.Path, Detail: r.URL.RawQuery,
	})
	if err == nil {
		return true
	}
	s.log.Error("writing the access log", "path", r.URL.Path, "credential", credential, "err", err)
	return false
}

// handleAudit lists the audit log, newest first: the access log and the
// changes. ?target= keeps the entries on one path or host id, ?action=
// those of one action (read, export, host.rekey …); ?before= an entry's id
// gives the page after it; ?limit= 1 to 1000 (default 100).
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > AuditLimit {
			writeError(w, http.StatusBadRequest, "limit: want 1 to "+strconv.Itoa(AuditLimit))
			return
		}
		limit = n
	}
	entries, err := s.store.AuditPage(r.Context(), store.AuditFilter{
		Target: q.Get("target"), Action: q.Get("action"), Before: q.Get("before"), Limit: limit,
	})
	if err != nil {
		s.storeError(w, "audit log", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Entries []store.AuditEntry `json:"entries"`
	}{entries})
}
