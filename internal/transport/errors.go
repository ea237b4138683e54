package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	maxReason     = 200            // runes of a response body quoted in a reason
	maxRetryAfter = 24 * time.Hour // longer Retry-After values are cut to this
)

// SendError is why a report did not reach the collector.
type SendError struct {
	// Status is the HTTP status, 0 when no response came (network, TLS).
	Status int
	// Retryable says the same report may succeed later: network errors,
	// TLS and certificate failures (which an administrator fixes while
	// the report waits), 408, 429, 5xx, unexpected statuses, 401 and any
	// 403 (see Hold). Other 4xx mean the collector refuses this report for
	// good.
	Retryable bool
	// RetryAfter is the collector's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Reason is short and safe to log: the status and a bounded, cleaned
	// excerpt of the response, or the kind of network failure.
	Reason string
	// Code is the "code" of the collector's JSON error, if any.
	Code string
	// Hold says the collector refuses this agent's enrollment token (401)
	// or its signature (a 403 with
	// code key_mismatch, bad_signature or unsigned), or something in front
	// of the collector refuses the agent (any other 403: a proxy's or
	// WAF's page), or the agent's key cannot be used: no report can get
	// through until someone acts, but none is at fault, so it stays
	// queued (Retryable) and delivery waits the longest backoff between
	// tries.
	Hold bool
	// Err is the underlying error, if any.
	Err error
}

// Codes of a collector's 403 about a report's signature.
const (
	// CodeKeyMismatch: the host id has another key pinned.
	CodeKeyMismatch = "key_mismatch"
	// CodeBadSignature: the signature does not verify the report.
	CodeBadSignature = "bad_signature"
	// CodeUnsigned: the report carried no signature.
	CodeUnsigned = "unsigned"
)

func (e *SendError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("send report: %s: %v", e.Reason, e.Err)
	}
	return "send report: " + e.Reason
}

func (e *SendError) Unwrap() error { return e.Err }

// networkError classifies a failure to get a response. All are retryable:
// the report stays queued until the network, the server or the
// configuration is fixed.
func networkError(err error) *SendError {
	return &SendError{Retryable: true, Reason: networkReason(err), Err: err}
}

func networkReason(err error) string {
	var (
		pinErr  *PinError
		verErr  *tls.CertificateVerificationError
		unkErr  x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		opErr   *net.OpError
		dnsErr  *net.DNSError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &pinErr):
		return "certificate pin mismatch"
	case errors.As(err, &verErr), errors.As(err, &unkErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return "certificate not trusted"
	case errors.As(err, &recErr):
		return "tls: server did not answer with TLS"
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return "tls: server refused the handshake (" + opErr.Err.Error() + ")"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.As(err, &dnsErr):
		return "dns lookup failed"
	case strings.Contains(err.Error(), "tls:"):
		return "tls handshake failed"
	}
	return "network error"
}

// statusError turns a non-2xx response into a SendError.
func statusError(resp *http.Response, snippet []byte, token string, now time.Time) *SendError {
	code := resp.StatusCode
	e := &SendError{
		Status:     code,
		Retryable:  retryableStatus(code),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
		Reason:     fmt.Sprintf("HTTP %d %s", code, http.StatusText(code)),
	}
	if msg := bodyReason(resp.Header.Get("Content-Type"), snippet, token); msg != "" {
		e.Reason += ": " + msg
	}
	e.Code = bodyCode(resp.Header.Get("Content-Type"), snippet)
	if code == http.StatusUnauthorized {
		// A wrong or revoked enrollment token is fixed in the agent's
		// configuration, not in the report: it stays queued.
		e.Retryable, e.Hold = true, true
		e.Reason += " (the collector does not accept this agent's enrollment token: check collector.token or collector.token_file; reports stay queued)"
	}
	if code == http.StatusForbidden {
		// The collector's 403s refuse the agent's signature; a 403 without
		// one of its codes comes from something in front of it (a proxy, a
		// WAF) or from a collector this agent does not know. Neither is
		// the report's fault: it stays queued.
		e.Retryable, e.Hold = true, true
		switch e.Code {
		case CodeKeyMismatch, CodeBadSignature, CodeUnsigned:
		default:
			e.Reason += " (the collector, or a proxy or firewall in front of it, refused the report without a reason " +
				"this agent knows; reports stay queued and are retried at the longest backoff)"
		}
	}
	return e
}

// bodyCode returns the "code" field of a JSON error body when it is a
// short lower-case token, or "".
func bodyCode(contentType string, snippet []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return ""
	}
	var obj struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(snippet, &obj) != nil || len(obj.Code) > 64 {
		return ""
	}
	for _, r := range obj.Code {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return ""
		}
	}
	return obj.Code
}

// retryableStatus: 408, 429 and 5xx are transient; so are statuses a
// collector should not send (1xx, 3xx), since the report must not be
// thrown away over a misconfiguration. Other 4xx are permanent, except
// 401 and 403, which statusError holds.
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code >= 400 && code < 500:
		return false
	}
	return true
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP
// date. Missing or malformed values and dates in the past give zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// bodyReason makes a short, printable reason from the start of a
// response body: the "error", "message" or "detail" field of a JSON
// object, or plain text. HTML and other types are left out. The token is
// blanked should the server echo it.
func bodyReason(contentType string, snippet []byte, token string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	var text string
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var obj map[string]any
		if json.Unmarshal(snippet, &obj) == nil {
			for _, k := range []string{"error", "message", "detail", "title"} {
				if s, ok := obj[k].(string); ok && s != "" {
					text = s
					break
				}
			}
		}
		if text == "" {
			text = string(snippet)
		}
	case mt == "text/plain" || mt == "":
		text = string(snippet)
	default:
		return ""
	}
	if token != "" {
		text = strings.ReplaceAll(text, token, "[token]")
	}
	return clean(text, maxReason)
}

// clean keeps printable runes, folds whitespace runs to one space, and
// cuts to n runes.
func clean(s string, n int) string {
	var b strings.Builder
	space := false
	runes := 0
	for len(s) > 0 && runes < n {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			runes++
			space = false
		}
		b.WriteRune(r)
		runes++
	}
	if len(s) > 0 && strings.TrimSpace(s) != "" {
		b.WriteString("…")
	}
	return b.String()
}
