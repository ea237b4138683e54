package collector

import (
	"encoding/base64"
	"encoding/hex"
	"mime"
	"net/http"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/reportsig"
)

// Headers of a raw report (GET /v1/reports/{id}/raw): its digest as
// recorded when it was received, in the RFC 9530 form and in hex (the
// form `sha256sum` and the signature file print), and when it arrived.
// A signed report also carries [HeaderPublicKey] and [HeaderSignature] as
// the agent sent them.
const (
	HeaderReprDigest   = "Repr-Digest"
	HeaderReportSHA256 = "Avscout-Report-Sha256"
	HeaderReceivedAt   = "Avscout-Received-At"
)

// signedReport reads the stored report the request's {id} names, checks
// it still has the digest recorded at receipt, and answers when it
// cannot be served.
func (s *Server) signedReport(w http.ResponseWriter, r *http.Request) (store.SignedReport, bool) {
	id := r.PathValue("id")
	if id == "" || len(id) > store.MaxIDLen {
		writeError(w, http.StatusNotFound, "report not found")
		return store.SignedReport{}, false
	}
	sr, err := s.store.SignedReport(r.Context(), id)
	if err != nil {
		s.storeError(w, "report", err)
		return sr, false
	}
	if !sr.Intact() {
		// The database was changed behind the collector's back: say so
		// rather than serve bytes as the ones received.
		s.log.Error("stored report does not match the digest recorded when it was received", "report", sr.ID, "host", sr.HostID)
		writeError(w, http.StatusInternalServerError, "the stored report does not match the digest recorded when it was received")
		return sr, false
	}
	return sr, true
}

// attachment sets the headers of a download named name.
func attachment(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
}

// handleReportRaw serves a report exactly as its agent sent it, so that
// an auditor can check its digest and its agent's signature.
func (s *Server) handleReportRaw(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.signedReport(w, r)
	if !ok {
		return
	}
	h := w.Header()
	h.Set(HeaderReprDigest, "sha-256=:"+base64.StdEncoding.EncodeToString(sr.SHA256)+":")
	h.Set(HeaderReportSHA256, hex.EncodeToString(sr.SHA256))
	h.Set(HeaderReceivedAt, report.FormatTime(sr.ReceivedAt))
	if sr.PublicKey != nil {
		h.Set(HeaderPublicKey, store.FormatKey(sr.PublicKey))
		h.Set(HeaderSignature, store.KeyPrefix+base64.StdEncoding.EncodeToString(sr.Signature))
	}
	attachment(w, "report-"+sr.ID+".json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(sr.Raw)
}

// handleReportSignature serves the agent's signature of a report as the
// detached signature document `avscout scan --sign` writes, so that
// `avscout verify` checks a report downloaded from the collector offline.
func (s *Server) handleReportSignature(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.signedReport(w, r)
	if !ok {
		return
	}
	if sr.PublicKey == nil {
		writeError(w, http.StatusNotFound, "the report was received unsigned")
		return
	}
	doc, err := reportsig.Delivered(sr.Raw, sr.PublicKey, sr.Signature)
	if err != nil {
		s.log.Error("stored report signature", "report", sr.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "the stored signature is malformed")
		return
	}
	attachment(w, "report-"+sr.ID+".json"+reportsig.Ext)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}
