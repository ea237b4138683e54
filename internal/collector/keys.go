package collector

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/edkey"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/text"
)

// Hosts are bound to their agent's Ed25519 key. The agent signs the exact
// uncompressed bytes of every report and sends, with each, its public key
// and the signature:
//
//	Avscout-Public-Key: ed25519:<standard base64 of the 32-byte key>
//	Avscout-Signature:  ed25519:<standard base64 of the 64-byte signature>
//
// The first verified report of a host id pins its key to the id; later
// reports of the host must carry that key and a valid signature. Only an
// administrator moves a pin (POST /v1/hosts/{id}/rekey, or the command
// avscout-collector host rekey), and every move is audited.

// Headers of a signed report.
const (
	HeaderPublicKey = "Avscout-Public-Key"
	HeaderSignature = "Avscout-Signature"
)

// Codes of the 403 answers to reports refused for their key or
// signature, in the "code" of the JSON error body. An agent keeps a
// report refused with CodeKeyMismatch queued: an administrator may re-pin
// its host.
const (
	CodeKeyMismatch  = "key_mismatch"
	CodeBadSignature = "bad_signature"
	CodeUnsigned     = "unsigned"
)

// KeyStore is what the server needs from the database for keys;
// [*store.Store] is one.
type KeyStore interface {
	PinKey(ctx context.Context, hostID string, pub ed25519.PublicKey, at time.Time) (store.HostKey, bool, error)
	RefuseKey(ctx context.Context, hostID string, pub ed25519.PublicKey, at time.Time) error
	HostKey(ctx context.Context, hostID string) (store.HostKey, error)
	Rekey(ctx context.Context, rk store.Rekey) (before, after store.HostKey, err error)
}

// keyReasons are the rejection reasons of key checks, in the metrics.
var keyReasons = []string{CodeKeyMismatch, CodeBadSignature, CodeUnsigned}

// checkAgentKey verifies the signature of a decoded report rep, whose
// bytes as received are raw, and that its key is the one pinned to its
// host (pinning it on the host's first verified report). It returns the
// key and signature to store with the report (nil for an unsigned report
// accepted under AllowUnsigned); when the report is refused it has
// answered and logged, and ok is false.
func (s *Server) checkAgentKey(w http.ResponseWriter, r *http.Request, rep *report.Report, raw []byte, log *slog.Logger) (pub ed25519.PublicKey, sig []byte, ok bool) {
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	hostID := rep.Host.ID
	refuse := func(code, msg string, attrs ...any) {
		s.metrics.reject(code)
		log.Warn("report refused", append([]any{"status", http.StatusForbidden, "reason", code}, attrs...)...)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": msg, "code": code})
	}
	storeFailed := func(err error) {
		if errors.Is(err, store.ErrInvalid) {
			s.metrics.reject(reasonInvalid)
			log.Info("report rejected", "status", http.StatusBadRequest, "reason", reasonInvalid, "msg", err.Error())
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.metrics.reject(reasonStore)
		log.Error("checking the host's key", "err", err)
		w.Header().Set("Retry-After", retryAfterStore)
		writeError(w, http.StatusServiceUnavailable, "database unavailable, retry later")
	}

	pubHdr, sigHdr := r.Header.Get(HeaderPublicKey), r.Header.Get(HeaderSignature)
	if pubHdr == "" && sigHdr == "" {
		if !s.allowUnsigned {
			refuse(CodeUnsigned, "reports must be signed with the agent's key ("+HeaderPublicKey+", "+HeaderSignature+")")
			return nil, nil, false
		}
		k, err := s.store.HostKey(ctx, hostID)
		switch {
		case err == nil && k.Pinned():
			refuse(CodeUnsigned, "this host has a pinned key: its reports must be signed", "pinned", store.Fingerprint(k.PublicKey))
			return nil, nil, false
		case err != nil && !errors.Is(err, store.ErrNotFound):
			storeFailed(err)
			return nil, nil, false
		}
		log.Debug("unsigned report accepted (--allow-unsigned, host not pinned)")
		return nil, nil, true
	}
	pub, err := store.ParseKey(pubHdr)
	switch {
	case errors.Is(err, edkey.ErrSmallOrder), errors.Is(err, edkey.ErrEncoding):
		// Checked before the signature and the pin: a key of small order
		// verifies forged signatures, and must never be pinned.
		why := edkey.ErrEncoding
		if errors.Is(err, edkey.ErrSmallOrder) {
			why = edkey.ErrSmallOrder
		}
		refuse(CodeBadSignature, HeaderPublicKey+": weak key refused: "+why.Error(), "key_sent", text.Clip(pubHdr, 64))
		return nil, nil, false
	case err != nil:
		refuse(CodeBadSignature, HeaderPublicKey+": want "+store.KeyPrefix+"<base64 of the 32-byte key>")
		return nil, nil, false
	}
	fp := store.Fingerprint(pub)
	if sig, err = store.ParseTagged(sigHdr, ed25519.SignatureSize); err != nil {
		refuse(CodeBadSignature, HeaderSignature+": want "+store.KeyPrefix+"<base64 of the 64-byte signature>", "key", fp)
		return nil, nil, false
	}
	if !ed25519.Verify(pub, raw, sig) {
		refuse(CodeBadSignature, "the signature does not verify the report's bytes with the key sent", "key", fp)
		return nil, nil, false
	}
	if s.keys.confirmed(store.StoredHostID(hostID), pub) {
		return pub, sig, true
	}
	now := s.now()
	k, pinned, err := s.store.PinKey(ctx, hostID, pub, now)
	if err != nil {
		storeFailed(err)
		return nil, nil, false
	}
	if !bytes.Equal(k.PublicKey, pub) {
		if err := s.store.RefuseKey(ctx, hostID, pub, now); err != nil {
			log.Error("noting the refused key", "err", err)
		}
		refuse(CodeKeyMismatch, "this host is bound to another key: if its agent was re-installed, an administrator must run avscout-collector host rekey",
			"key", fp, "pinned", store.Fingerprint(k.PublicKey))
		return nil, nil, false
	}
	s.keys.remember(store.StoredHostID(hostID), pub)
	if pinned {
		log.Info("host key pinned on first contact", "key", fp)
	}
	return pub, sig, true
}

// keyInfo is a host's key as the API shows it.
type keyInfo struct {
	Pinned      bool      `json:"pinned"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	PublicKey   string    `json:"public_key,omitempty"`
	PinnedAt    time.Time `json:"pinned_at,omitzero"`
	PinnedBy    string    `json:"pinned_by,omitempty"`
	// The latest key a report of the host was refused for.
	RefusedFingerprint string    `json:"refused_fingerprint,omitempty"`
	RefusedKey         string    `json:"refused_key,omitempty"`
	RefusedAt          time.Time `json:"refused_at,omitzero"`
}

func newKeyInfo(k store.HostKey) keyInfo {
	return keyInfo{
		Pinned: k.Pinned(), Fingerprint: store.Fingerprint(k.PublicKey), PublicKey: store.FormatKey(k.PublicKey),
		PinnedAt: k.PinnedAt, PinnedBy: k.PinnedBy,
		RefusedFingerprint: store.Fingerprint(k.RefusedKey), RefusedKey: store.FormatKey(k.RefusedKey), RefusedAt: k.RefusedAt,
	}
}

// hostKeyInfo returns the key of host id for GET /v1/hosts/{id}: nil when
// it has none, or when it cannot be read (logged: the host still shows).
func (s *Server) hostKeyInfo(ctx context.Context, id string) *keyInfo {
	k, err := s.store.HostKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &keyInfo{}
	case err != nil:
		s.log.Warn("reading a host's key", "host", id, "err", err)
		return nil
	}
	info := newKeyInfo(k)
	return &info
}

// rekeyRequest is the body of POST /v1/hosts/{id}/rekey: exactly one of
// a key to pin ("ed25519:<base64>") or clear: true (the host's next
// verified report pins its key).
type rekeyRequest struct {
	Key   string `json:"key"`
	Clear bool   `json:"clear"`
}

// maxRekeyBody bounds the body of a rekey request.
const maxRekeyBody = 4096

func (s *Server) handleRekey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > store.MaxIDLen {
		writeError(w, http.StatusNotFound, "host not found")
		return
	}
	// A JSON body is not something a cross-site form can send: with the
	// browser's Basic credentials in play, that keeps rekey safe from
	// request forgery.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	var req rekeyRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRekeyBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: want {\"key\": \"ed25519:<base64>\"} or {\"clear\": true}")
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "body: one JSON object only")
		return
	}
	rk := store.Rekey{HostID: id, Credential: AdminName(r.Context()), Remote: r.RemoteAddr, At: s.now()}
	switch {
	case req.Clear == (req.Key != ""):
		writeError(w, http.StatusBadRequest, `body: give exactly one of "key" and "clear": true`)
		return
	case req.Key != "":
		k, err := store.ParseKey(req.Key)
		if err != nil {
			writeError(w, http.StatusBadRequest, "key: want ed25519:<standard base64 of the 32-byte key>")
			return
		}
		rk.Key = k
	}
	before, after, err := s.store.Rekey(r.Context(), rk)
	s.keys.forget(store.StoredHostID(id))
	if err != nil {
		s.storeError(w, "host", err)
		return
	}
	s.log.Warn("host rekeyed by an administrator", "host", id, "credential", rk.Credential, "remote", r.RemoteAddr,
		"from", store.Fingerprint(before.PublicKey), "to", store.Fingerprint(after.PublicKey), "cleared", rk.Key == nil)
	writeJSON(w, http.StatusOK, struct {
		HostID string  `json:"host_id"`
		Before keyInfo `json:"before"`
		After  keyInfo `json:"after"`
	}{id, newKeyInfo(before), newKeyInfo(after)})
}
