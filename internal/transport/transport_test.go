package transport

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/reporttest"
)

const testToken = "tok-7f3a9c-SECRET"

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	if o.Token == "" {
		o.Token = testToken
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// sendErr sends one report and returns the *SendError, failing the test
// when the send succeeded or failed otherwise.
func sendErr(t *testing.T, c *Client, ctx context.Context) *SendError {
	t.Helper()
	id := report.NewID()
	err := c.Send(ctx, id, reporttest.Gzip(t, id, 10))
	if err == nil {
		t.Fatal("Send succeeded, want an error")
	}
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send error %v (%T) is not a *SendError", err, err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("error shows the token: %v", err)
	}
	t.Logf("Send: %v", err)
	return se
}

func TestSendSuccess(t *testing.T) {
	type seen struct {
		method, path                  string
		ctype, cenc, auth, key, agent string
		body                          []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"),
			r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), r.Header.Get("User-Agent"), body}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		// A large answer: the client must not choke on it.
		fmt.Fprintf(w, `{"status":"stored","pad":%q}`, strings.Repeat("y", 200<<10))
	}))
	defer srv.Close()
	c := newClient(t, Options{URL: srv.URL + "/base/", UserAgent: "avscout/1.2.3"})
	if want := srv.URL + "/base/v1/reports"; c.Endpoint() != want {
		t.Fatalf("Endpoint = %s, want %s", c.Endpoint(), want)
	}
	id := report.NewID()
	gz := reporttest.Gzip(t, id, 5000)
	if err := c.Send(context.Background(), id, gz); err != nil {
		t.Fatalf("Send: %v", err)
	}
	s := <-got
	want := seen{"POST", "/base/v1/reports", "application/json", "gzip", "Bearer " + testToken, id, "avscout/1.2.3", gz}
	if s.method != want.method || s.path != want.path || s.ctype != want.ctype || s.cenc != want.cenc ||
		s.auth != want.auth || s.key != want.key || s.agent != want.agent {
		t.Fatalf("request = %+v\nwant      %+v", s, want)
	}
	if !bytes.Equal(s.body, gz) {
		t.Fatal("body is not the gzip bytes as given")
	}
	if rid, err := reporttest.ID(s.body); err != nil || rid != id {
		t.Fatalf("body decompresses to report %q (%v), want %s", rid, err, id)
	}
}

func TestSendStatuses(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		retryable  bool
		retryAfter time.Duration // exact, or (with dated) at most this and more than half
		dated      bool
		reason     string // Reason contains
		notReason  string // Reason does not contain
	}{
		{name: "500", status: 500, retryable: true, reason: "HTTP 500 Internal Server Error"},
		{name: "502_retry_after", status: 502, header: map[string]string{"Retry-After": "7"}, retryable: true, retryAfter: 7 * time.Second},
		{name: "503_date", status: 503, header: map[string]string{"Retry-After": now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}, retryable: true, retryAfter: 90 * time.Second, dated: true},
		{name: "429_seconds", status: 429, header: map[string]string{"Retry-After": "120"}, retryable: true, retryAfter: 120 * time.Second, reason: "HTTP 429 Too Many Requests"},
		{name: "429_date", status: 429, header: map[string]string{"Retry-After": now.Add(time.Hour).UTC().Format(http.TimeFormat)}, retryable: true, retryAfter: time.Hour, dated: true},
		{name: "429_garbage_retry_after", status: 429, header: map[string]string{"Retry-After": "soon"}, retryable: true},
		{name: "408", status: 408, retryable: true},
		{name: "413", status: 413, retryable: false, reason: "HTTP 413 Request Entity Too Large"},
		{name: "401", status: 401, retryable: true, reason: "HTTP 401 Unauthorized"},
		{name: "403", status: 403, retryable: true, reason: "in front of it"},
		{name: "404", status: 404, retryable: false},
		{name: "409", status: 409, retryable: false},
		{name: "422", status: 422, retryable: false},
		{name: "400_json_error", status: 400, header: map[string]string{"Content-Type": "application/json"},
			body: `{"error":"schema: report_id is required","detail":"x"}`, reason: "HTTP 400 Bad Request: schema: report_id is required"},
		{name: "400_text_bounded", status: 400, header: map[string]string{"Content-Type": "text/plain"},
			body: "bad\x1b[31m report\n\n" + strings.Repeat("z", 10000), reason: "bad [31m report zzz", notReason: strings.Repeat("z", 300)},
		{name: "403_echoes_token", status: 403, header: map[string]string{"Content-Type": "text/plain"},
			body: "token " + testToken + " revoked", retryable: true, reason: "token [token] revoked", notReason: testToken},
		{name: "502_html_left_out", status: 502, header: map[string]string{"Content-Type": "text/html"},
			body: "<html><body>Bad Gateway from proxy</body></html>", retryable: true, notReason: "<html>"},
		{name: "301_not_followed", status: 301, header: map[string]string{"Location": "https://elsewhere.example/"}, retryable: true, reason: "HTTP 301"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			se := sendErr(t, newClient(t, Options{URL: srv.URL}), context.Background())
			if se.Status != tc.status || se.Retryable != tc.retryable {
				t.Fatalf("SendError = %+v, want Status %d Retryable %v", se, tc.status, tc.retryable)
			}
			if tc.dated {
				if se.RetryAfter > tc.retryAfter || se.RetryAfter < tc.retryAfter/2 {
					t.Fatalf("RetryAfter = %v, want about %v", se.RetryAfter, tc.retryAfter)
				}
			} else if se.RetryAfter != tc.retryAfter {
				t.Fatalf("RetryAfter = %v, want %v", se.RetryAfter, tc.retryAfter)
			}
			if !strings.Contains(se.Reason, tc.reason) || (tc.notReason != "" && strings.Contains(se.Reason, tc.notReason)) {
				t.Fatalf("Reason = %q, want it to contain %q and not %q", se.Reason, tc.reason, tc.notReason)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("server saw %d requests, want 1 (no redirects followed, no hidden retries)", n)
			}
		})
	}
}

func TestSendServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	se := sendErr(t, newClient(t, Options{URL: "http://" + addr}), context.Background())
	if se.Status != 0 || !se.Retryable || se.Reason != "connection refused" {
		t.Fatalf("SendError = %+v, want a retryable connection refused", se)
	}
}

// hangingServer accepts connections, reads the request and never
// answers. accepted receives once per connection after the headers came.
func hangingServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var conns sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close(); conns.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					ch <- struct{}{}
				}
				<-done
			})
		}
	}()
	return l.Addr().String(), ch
}

func TestSendTimeout(t *testing.T) {
	addr, _ := hangingServer(t)
	c := newClient(t, Options{URL: "http://" + addr, Timeout: 300 * time.Millisecond})
	se := sendErr(t, c, context.Background())
	if se.Status != 0 || !se.Retryable || se.Reason != "timeout" {
		t.Fatalf("SendError = %+v (%v), want a retryable timeout", se, se.Err)
	}
}

func TestSendCancel(t *testing.T) {
	addr, accepted := hangingServer(t)
	c := newClient(t, Options{URL: "http://" + addr}) // default 60s timeout
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted
		cancel()
	}()
	se := sendErr(t, c, ctx)
	if !errors.Is(se, context.Canceled) || !se.Retryable || se.Reason != "canceled" {
		t.Fatalf("SendError = %+v (%v), want a retryable cancel", se, se.Err)
	}
}

func TestSendResetMidBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.CopyN(io.Discard, r.Body, 1024) // part of the body, then the line drops
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST
		}
		conn.Close()
	}))
	defer srv.Close()
	c := newClient(t, Options{URL: srv.URL})
	id := report.NewID()
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(big)
	zw.Close()
	err := c.Send(context.Background(), id, buf.Bytes())
	var se *SendError
	if !errors.As(err, &se) || se.Status != 0 || !se.Retryable {
		t.Fatalf("Send: %v, want a retryable network SendError", err)
	}
}

func TestSendTLS(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	wrongName := p.issue(t, "collector.example", []string{"collector.example"}, nil, 1 /* ServerAuth */)
	tests := []struct {
		name    string
		server  *tls.Config // nil: httptest's own self-signed certificate
		opts    func(o *Options)
		wantErr string // "" = success; else the Reason
	}{
		{"self_signed_untrusted", nil, func(*Options) {}, "certificate not trusted"},
		{"ca_file_trusts_server", &tls.Config{Certificates: []tls.Certificate{p.server}},
			func(o *Options) { o.CAFile = p.caFile }, ""},
		{"ca_file_other_ca", &tls.Config{Certificates: []tls.Certificate{p.server}},
			func(o *Options) { o.CAFile = other.caFile }, "certificate not trusted"},
		{"ca_file_self_signed_server", nil, func(o *Options) { o.CAFile = p.caFile }, "certificate not trusted"},
		{"wrong_host_name", &tls.Config{Certificates: []tls.Certificate{wrongName}},
			func(o *Options) { o.CAFile = p.caFile }, "certificate not trusted"},
		{"pin_ca", &tls.Config{Certificates: []tls.Certificate{p.server}},
			func(o *Options) { o.CAFile = p.caFile; o.CAPins = []string{Pin(other.ca), Pin(p.ca)} }, ""},
		{"pin_leaf", &tls.Config{Certificates: []tls.Certificate{p.server}},
			func(o *Options) { o.CAFile = p.caFile; o.CAPins = []string{Pin(p.server.Leaf)} }, ""},
		{"pin_mismatch", &tls.Config{Certificates: []tls.Certificate{p.server}},
			func(o *Options) { o.CAFile = p.caFile; o.CAPins = []string{Pin(other.ca)} }, "certificate pin mismatch"},
		{"tls11_server_refused", &tls.Config{Certificates: []tls.Certificate{p.server}, MaxVersion: tls.VersionTLS11},
			func(o *Options) { o.CAFile = p.caFile }, "tls"},
		{"mtls_with_client_cert", &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool()},
			func(o *Options) { o.CAFile = p.caFile; o.ClientCert, o.ClientKey = p.clientCert, p.clientKey }, ""},
		{"mtls_without_client_cert", &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool()},
			func(o *Options) { o.CAFile = p.caFile }, "tls"},
		{"mtls_client_cert_of_other_ca", &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool()},
			func(o *Options) { o.CAFile = p.caFile; o.ClientCert, o.ClientKey = other.clientCert, other.clientKey }, "tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.WriteHeader(http.StatusCreated)
			}))
			srv.TLS = tc.server
			srv.Config.ErrorLog = nopLogger() // handshake failures are the point here
			srv.StartTLS()
			defer srv.Close()
			o := Options{URL: srv.URL}
			tc.opts(&o)
			c := newClient(t, o)
			if tc.wantErr == "" {
				id := report.NewID()
				if err := c.Send(context.Background(), id, reporttest.Gzip(t, id, 10)); err != nil {
					t.Fatalf("Send: %v", err)
				}
				if hits.Load() != 1 {
					t.Fatalf("server saw %d requests", hits.Load())
				}
				return
			}
			se := sendErr(t, c, context.Background())
			if se.Status != 0 || !se.Retryable || !strings.Contains(se.Reason, tc.wantErr) {
				t.Fatalf("SendError = %+v (%v); want retryable, Reason containing %q", se, se.Err, tc.wantErr)
			}
			if hits.Load() != 0 {
				t.Fatal("the request reached the handler despite the TLS failure")
			}
			var pe *PinError
			if tc.name == "pin_mismatch" && (!errors.As(se, &pe) || pe.Leaf != Pin(p.server.Leaf)) {
				t.Fatalf("pin mismatch error %v should carry the server's pin %s", se.Err, Pin(p.server.Leaf))
			}
		})
	}
}

// proxy is a real forward proxy on loopback: it tunnels CONNECT and
// forwards plain-HTTP requests, counting both.
type proxy struct {
	connects, forwards atomic.Int32
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.connects.Add(1)
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		go func() {
			_, _ = io.Copy(upstream, rw) // buffered client bytes first
			_ = upstream.(*net.TCPConn).CloseWrite()
		}()
		_, _ = io.Copy(conn, upstream)
		conn.Close()
		upstream.Close()
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	p.forwards.Add(1)
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func TestSendViaProxy(t *testing.T) {
	p := newPKI(t)
	var got atomic.Value
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Idempotency-Key"))
		w.WriteHeader(http.StatusCreated)
	})
	tlsSrv := httptest.NewUnstartedServer(handler)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}}
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(handler)
	defer plainSrv.Close()

	px := &proxy{}
	pxSrv := httptest.NewServer(px)
	defer pxSrv.Close()

	t.Run("connect_tunnel_for_https", func(t *testing.T) {
		c := newClient(t, Options{URL: tlsSrv.URL, CAFile: p.caFile, Proxy: pxSrv.URL})
		id := report.NewID()
		if err := c.Send(context.Background(), id, reporttest.Gzip(t, id, 10)); err != nil {
			t.Fatalf("Send via proxy: %v", err)
		}
		if px.connects.Load() != 1 || got.Load() != id {
			t.Fatalf("proxy tunnels = %d, collector got %v; want 1 tunnel delivering %s", px.connects.Load(), got.Load(), id)
		}
	})
	t.Run("forward_for_http", func(t *testing.T) {
		c := newClient(t, Options{URL: plainSrv.URL, Proxy: pxSrv.URL})
		id := report.NewID()
		if err := c.Send(context.Background(), id, reporttest.Gzip(t, id, 10)); err != nil {
			t.Fatalf("Send via proxy: %v", err)
		}
		if px.forwards.Load() != 1 || got.Load() != id {
			t.Fatalf("proxy forwards = %d, collector got %v; want 1 forward delivering %s", px.forwards.Load(), got.Load(), id)
		}
	})
	t.Run("proxy_down", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		down := "http://" + l.Addr().String()
		l.Close()
		se := sendErr(t, newClient(t, Options{URL: tlsSrv.URL, CAFile: p.caFile, Proxy: down}), context.Background())
		if !se.Retryable || se.Status != 0 {
			t.Fatalf("SendError = %+v, want retryable", se)
		}
	})
}

func TestNew(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name    string
		o       Options
		wantErr string // "" = ok
		secret  string // must not appear in the error
	}{
		{"https", Options{URL: "https://collector.example.com"}, "", ""},
		{"http_loopback_v4", Options{URL: "http://127.0.0.1:8080"}, "", ""},
		{"http_loopback_127_8", Options{URL: "http://127.1.2.3:8080"}, "", ""},
		{"http_loopback_v6", Options{URL: "http://[::1]:8080"}, "", ""},
		{"http_localhost", Options{URL: "http://LocalHost:8080"}, "", ""},
		{"empty_url", Options{}, "no collector URL", ""},
		{"http_remote", Options{URL: "http://collector.example.com"}, "only https", ""},
		{"http_private_ip", Options{URL: "http://10.0.0.5"}, "only https", ""},
		{"http_localhost_lookalike", Options{URL: "http://localhost.evil.example"}, "only https", ""},
		{"ftp", Options{URL: "ftp://127.0.0.1/"}, "scheme must be https", ""},
		{"no_host", Options{URL: "https:///v1"}, "no host", ""},
		{"credentials_in_url", Options{URL: "https://agent:hunter2@collector.example.com"}, "must not hold credentials", "hunter2"},
		{"query", Options{URL: "https://collector.example.com/?x=1"}, "query", ""},
		{"bad_token", Options{URL: "https://c.example", Token: "abc\r\nX-Evil: 1"}, "token", "X-Evil"},
		{"ca_missing", Options{URL: "https://c.example", CAFile: missing}, missing, ""},
		{"ca_garbage", Options{URL: "https://c.example", CAFile: garbage}, garbage, ""},
		{"client_cert_missing", Options{URL: "https://c.example", ClientCert: missing, ClientKey: p.clientKey}, missing, ""},
		{"client_key_missing", Options{URL: "https://c.example", ClientCert: p.clientCert, ClientKey: missing}, missing, ""},
		{"client_key_garbage", Options{URL: "https://c.example", ClientCert: p.clientCert, ClientKey: garbage}, garbage, ""},
		{"client_cert_without_key", Options{URL: "https://c.example", ClientCert: p.clientCert}, "both", ""},
		{"client_pair_ok", Options{URL: "https://c.example", ClientCert: p.clientCert, ClientKey: p.clientKey}, "", ""},
		{"pin_no_prefix", Options{URL: "https://c.example", CAPins: []string{"abc"}}, "sha256/", ""},
		{"pin_short", Options{URL: "https://c.example", CAPins: []string{"sha256/AAAA"}}, "SHA-256", ""},
		{"pin_ok", Options{URL: "https://c.example", CAPins: []string{Pin(p.ca)}}, "", ""},
		{"proxy_scheme", Options{URL: "https://c.example", Proxy: "ftp://proxy:21"}, "not supported", ""},
		{"proxy_not_url", Options{URL: "https://c.example", Proxy: "http://user:s3cret@:bad port"}, "proxy", "s3cret"},
		{"proxy_with_credentials", Options{URL: "https://c.example", Proxy: "http://user:s3cret@proxy.example:3128"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if !strings.HasSuffix(c.Endpoint(), "/v1/reports") {
					t.Fatalf("Endpoint = %s", c.Endpoint())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.wantErr)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("error shows a secret: %v", err)
			}
		})
	}
}

func TestSendInvalidID(t *testing.T) {
	c := newClient(t, Options{URL: "http://127.0.0.1:1"})
	err := c.Send(context.Background(), "../../etc/passwd", []byte{0x1f, 0x8b})
	var se *SendError
	if !errors.As(err, &se) || se.Retryable {
		t.Fatalf("Send with a bad id: %v, want a permanent SendError", err)
	}
}

// nopLogger discards an http.Server's log.
func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
