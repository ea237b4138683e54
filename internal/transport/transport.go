// Package transport delivers queued reports to the collector over HTTPS.
//
// [Client] sends one report: a POST of the gzip bytes as they lie in the
// spool, with the report id as Idempotency-Key so the collector can drop
// the duplicates that at-least-once delivery makes (a crash between "2xx
// received" and "file deleted" sends a report again). Its errors say
// whether retrying can help ([SendError]). [Deliverer] drains a queue
// through a client, oldest first: delivered reports are deleted,
// refused ones dead-lettered, and on a transient failure it backs off
// with full jitter and honours Retry-After.
//
// With a [Signer] (the agent's key, package agentkey) every report is
// signed when it is sent, not when it is queued, so reports queued before
// the key existed go out signed too: Send un-gzips the spooled bytes
// (bounded) and signs exactly those uncompressed bytes, which is what the
// collector verifies after decoding the body. The public key and the
// signature travel in the [HeaderPublicKey] and [HeaderSignature] headers
// as "ed25519:" and standard base64. A 403 does not dead-letter the
// report: whether its JSON code says the collector refuses the signature
// (key_mismatch, bad_signature, unsigned) or it has none of the
// collector's codes (a proxy's or WAF's page), the report stays queued,
// retried at the longest backoff, and the error tells the administrator
// what to do ([SendError.Hold]).
//
// The package never logs the enrollment token or a whole response body,
// and never drops a report itself: only a permanent refusal by the
// collector moves one aside, or, with a Signer, a report that inflates
// beyond [MaxSignedSize], which no collector takes.
package transport

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/spool"
)

// Defaults for [Options].
const (
	DefaultTimeout   = 60 * time.Second
	DefaultUserAgent = "avscout"

	reportsPath = "/v1/reports"
	maxDrain    = 64 << 10 // response bytes read to reuse the connection
	maxSnippet  = 4 << 10  // response bytes looked at for an error reason and code

	// MaxSignedSize bounds a report's uncompressed size when it is
	// un-gzipped to be signed: eight times the collector's default limit
	// (8 MiB). A larger report is refused here for good.
	MaxSignedSize = 64 << 20

	// HeaderPublicKey carries "ed25519:" and the standard base64 of the
	// agent's 32-byte public key; HeaderSignature "ed25519:" and the
	// standard base64 of the 64-byte Ed25519 signature of the report's
	// uncompressed bytes.
	HeaderPublicKey = "Avscout-Public-Key"
	HeaderSignature = "Avscout-Signature"
	keyScheme       = "ed25519:"
)

// Signer signs reports with the agent's key ([agentkey.Signer]).
type Signer interface {
	// SignReport returns the public key and the Ed25519 signature of
	// body, a report's uncompressed bytes, or why the key is not usable.
	SignReport(body []byte) (ed25519.PublicKey, []byte, error)
}

// Options configure a [Client].
type Options struct {
	// URL is the collector's base URL; reports go to URL + "/v1/reports".
	// It must be https, except for loopback hosts (127.0.0.0/8, ::1,
	// localhost), which may use http.
	URL string
	// Token is the bearer enrollment token. It is never logged.
	Token string
	// CAFile is a PEM bundle trusted instead of the system roots.
	CAFile string
	// CAPins, when set, are "sha256/<base64>" hashes of
	// SubjectPublicKeyInfo; the verified chain must contain a certificate
	// whose key matches one of them.
	CAPins []string
	// ClientCert and ClientKey are PEM files for mutual TLS; both or
	// neither.
	ClientCert, ClientKey string
	// Proxy is the proxy URL; empty takes it from the environment
	// (HTTPS_PROXY, NO_PROXY, …).
	Proxy string
	// Timeout bounds a whole request; zero means 60s. Dialling, the TLS
	// handshake and the wait for response headers have their own bounds
	// within it.
	Timeout time.Duration
	// UserAgent is sent as User-Agent; empty means "avscout".
	UserAgent string
	// Signer, when set, signs every report at send time. Nil sends
	// unsigned reports, which a collector pinning keys refuses.
	Signer Signer
}

// Client sends reports to one collector. It is safe for concurrent use
// and reuses connections.
type Client struct {
	endpoint string
	token    string
	agent    string
	signer   Signer
	http     *http.Client
}

// New checks the options and builds a client. TLS 1.2 is the minimum.
// Errors name the option or the file at fault and never contain the
// token.
func New(o Options) (*Client, error) {
	endpoint, err := endpointURL(o.URL)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(o.Token); i++ {
		if c := o.Token[i]; c <= ' ' || c >= 0x7f {
			return nil, errors.New("transport: the token holds a character not allowed in an HTTP header (space, control or non-ASCII)")
		}
	}
	tlsConf, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	proxy := http.ProxyFromEnvironment
	if o.Proxy != "" {
		u, err := url.Parse(o.Proxy)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("transport: proxy %q is not a URL like http://proxy.example:3128", redactURL(o.Proxy))
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("transport: proxy scheme %q not supported (http, https, socks5)", u.Scheme)
		}
		proxy = http.ProxyURL(u)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: min(30*time.Second, timeout), KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   min(20*time.Second, timeout),
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2,
		IdleConnTimeout:       90 * time.Second,
	}
	agent := o.UserAgent
	if agent == "" {
		agent = DefaultUserAgent
	}
	return &Client{
		endpoint: endpoint,
		token:    o.Token,
		agent:    agent,
		signer:   o.Signer,
		http: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			// A redirected POST would lose its body or its token; the
			// collector URL must be the right one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// endpointURL checks the collector base URL and returns the reports URL.
func endpointURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("transport: no collector URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("transport: collector URL %q: %w", redactURL(raw), err)
	}
	if u.User != nil {
		return "", errors.New("transport: the collector URL must not hold credentials; use the token")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("transport: collector URL %q has no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("transport: collector URL %q must not have a query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("transport: collector URL %q uses http; only https is allowed except to a loopback host", raw)
		}
	default:
		return "", fmt.Errorf("transport: collector URL %q: scheme must be https", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/") + reportsPath
	u.RawPath = ""
	return u.String(), nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL hides a password in a URL meant for a message.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		return "…" + raw[i:]
	}
	return raw
}

func tlsConfig(o Options) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("transport: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("transport: CA file %s holds no PEM certificate", o.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case o.ClientCert != "" && o.ClientKey != "":
		certPEM, err := os.ReadFile(o.ClientCert)
		if err != nil {
			return nil, fmt.Errorf("transport: read client certificate: %w", err)
		}
		keyPEM, err := os.ReadFile(o.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("transport: read client key: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("transport: client certificate %s with key %s: %w", o.ClientCert, o.ClientKey, err)
		}
		c.Certificates = []tls.Certificate{pair}
	case o.ClientCert != "" || o.ClientKey != "":
		return nil, errors.New("transport: a client certificate needs both ClientCert and ClientKey")
	}
	if len(o.CAPins) > 0 {
		pins := map[[sha256.Size]byte]bool{}
		for _, p := range o.CAPins {
			sum, err := parsePin(p)
			if err != nil {
				return nil, err
			}
			pins[sum] = true
		}
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				for _, cert := range chain {
					if pins[sha256.Sum256(cert.RawSubjectPublicKeyInfo)] {
						return nil
					}
				}
			}
			return &PinError{Leaf: leafPin(cs)}
		}
	}
	return c, nil
}

// parsePin reads "sha256/<base64 of the SPKI hash>".
func parsePin(p string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	b64, ok := strings.CutPrefix(p, "sha256/")
	if !ok {
		return sum, fmt.Errorf("transport: CA pin %q must look like sha256/<base64>", p)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return sum, fmt.Errorf("transport: CA pin %q is not the base64 of a SHA-256 hash", p)
	}
	copy(sum[:], raw)
	return sum, nil
}

// Pin returns the pin of a certificate's key, in the form CAPins takes.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

func leafPin(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return Pin(cs.PeerCertificates[0])
}

// PinError is the TLS handshake failing because no certificate of the
// server's verified chain has a pinned key.
type PinError struct {
	Leaf string // pin of the server's own certificate, to help set CAPins
}

func (e *PinError) Error() string {
	return "tls: no certificate in the server's chain matches a pinned key (server certificate key is " + e.Leaf + ")"
}

// Send posts one gzip-compressed report. It returns nil when the
// collector answered 2xx, and otherwise a [*SendError] saying whether a
// retry can help. The response body is always drained (bounded) and
// closed.
func (c *Client) Send(ctx context.Context, id string, gz []byte) error {
	if err := spool.ValidateID(id); err != nil {
		return &SendError{Reason: "invalid report id", Err: err}
	}
	var pub ed25519.PublicKey
	var sig []byte
	if c.signer != nil {
		body, err := gunzip(gz, MaxSignedSize)
		if err != nil {
			// Not a report any collector takes; the spool checks gzip on
			// reading, so this is a report too large to sign.
			return &SendError{Reason: "cannot sign the report", Err: err}
		}
		pub, sig, err = c.signer.SignReport(body)
		if err != nil {
			return &SendError{Retryable: true, Hold: true, Reason: "agent key unusable; reports stay queued", Err: err}
		}
		if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
			return &SendError{Retryable: true, Hold: true,
				Reason: fmt.Sprintf("agent key gave a %d-byte public key and a %d-byte signature", len(pub), len(sig))}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(gz))
	if err != nil {
		return &SendError{Reason: "build request", Err: err}
	}
	if pub != nil {
		req.Header.Set(HeaderPublicKey, keyScheme+base64.StdEncoding.EncodeToString(pub))
		req.Header.Set(HeaderSignature, keyScheme+base64.StdEncoding.EncodeToString(sig))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Idempotency-Key", id)
	req.Header.Set("User-Agent", c.agent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return networkError(err)
	}
	defer resp.Body.Close()
	snippet := make([]byte, maxSnippet)
	n, _ := io.ReadFull(resp.Body, snippet)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := statusError(resp, snippet[:n], c.token, time.Now())
	if e.Hold && e.Status == http.StatusForbidden {
		e.Reason += signatureAdvice(e.Code, pub)
	}
	return e
}

// gunzip returns the uncompressed bytes of gz (one or more gzip members),
// failing beyond limit bytes.
func gunzip(gz []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("not gzip data: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("corrupt gzip data: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("larger than %d bytes uncompressed; no collector takes it", limit)
	}
	return body, nil
}

// signatureAdvice says what to do about a collector refusing this agent's
// signature with code.
func signatureAdvice(code string, pub ed25519.PublicKey) string {
	fp := "unknown"
	if len(pub) == ed25519.PublicKeySize {
		fp = agentkey.Fingerprint(pub)
	}
	switch code {
	case CodeKeyMismatch:
		return " (the collector has pinned another key for this host; this agent's key is " + fp +
			": if this host was reinstalled or its key replaced, an administrator must run " +
			"`avscout-collector host rekey` for it; reports stay queued)"
	case CodeBadSignature:
		return " (the collector could not verify this agent's signature, key " + fp +
			": something between them changes the report; reports stay queued)"
	case CodeUnsigned:
		return " (the collector got no signature: something between them removes the " +
			HeaderSignature + " header; reports stay queued)"
	}
	return ""
}

// Endpoint returns the URL reports are posted to.
func (c *Client) Endpoint() string { return c.endpoint }

// CloseIdleConnections closes connections kept for reuse.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
