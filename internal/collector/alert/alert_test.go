package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/collector/store/pgtest"
)

var pg = pgtest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

const testSecret = "0123456789abcdef-test-secret"

// receiver is a webhook receiver on loopback that records what it gets
// and answers with the next of its codes (200 once they run out).
type receiver struct {
	srv *httptest.Server

	mu    sync.Mutex
	codes []int
	got   []received
}

type received struct {
	header http.Header
	body   []byte
	code   int
}

func newReceiver(t *testing.T, tls bool, codes ...int) *receiver {
	t.Helper()
	r := &receiver{codes: codes}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		r.mu.Lock()
		code := http.StatusOK
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		r.got = append(r.got, received{req.Header.Clone(), body, code})
		r.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	})
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// caFile writes the TLS receiver's certificate as a PEM file.
func (r *receiver) caFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeFile writes a private file in dir.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadConfig writes doc (with {{secret}} standing for a secret file's
// path) and loads it.
func loadConfig(t *testing.T, doc string) *Config {
	t.Helper()
	dir := t.TempDir()
	secret := writeFile(t, dir, "secret", testSecret+"\n")
	cfg, err := Load(writeFile(t, dir, "alerts.yaml", strings.ReplaceAll(doc, "{{secret}}", secret)), Env{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fast is a delivery section that retries at once, for tests.
const fast = "delivery:\n  retry_min: 1ms\n  retry_max: 5ms\n  timeout: 30s\n"

// forEachDialect runs fn with a fresh store of each database routed by cfg.
func forEachDialect(t *testing.T, cfg func(t *testing.T) *Config, fn func(t *testing.T, s *store.Store, d *Dispatcher)) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "avscout.db")
			if dialect == "postgres" {
				dsn = pg.DSN(t)
			}
			c := cfg(t)
			s, err := store.Open(context.Background(), dsn, store.Options{AlertRoutes: c.Routes()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			fn(t, s, New(c, s, Options{Version: "test"}))
		})
	}
}

var t0 = time.Now().UTC().Truncate(time.Second).Add(-time.Hour)

// send stores the golden report of host at t0+minutes.
func send(t *testing.T, s *store.Store, golden, hostID, hostname string, minutes int) string {
	t.Helper()
	at := t0.Add(time.Duration(minutes) * time.Minute)
	r := fleettest.Report(t, golden, hostID, hostname, at)
	if _, err := s.Ingest(context.Background(), store.Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "tok", ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	return r.ReportID
}

// drain runs the dispatcher until the outbox has no pending alert.
func drain(t *testing.T, s *store.Store, d *Dispatcher) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := d.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, err := s.AlertCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts still pending after 60s: %+v", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func states(t *testing.T, s *store.Store) []string {
	t.Helper()
	list, err := s.AlertStates(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, fmt.Sprintf("%s:%s:%s:%d", a.Webhook, a.Event, a.Status, a.Attempts))
	}
	return out
}

func metrics(d *Dispatcher) string {
	var b bytes.Buffer
	d.WriteMetrics(context.Background(), &b)
	return b.String()
}

// A host turning restricted reaches an HTTPS receiver once, as a JSON
// alert whose signature the receiver verifies with the shared secret.
func TestDeliverSigned(t *testing.T) {
	var rcv *receiver
	cfg := func(t *testing.T) *Config {
		rcv = newReceiver(t, true)
		return loadConfig(t, fmt.Sprintf("webhooks:\n- name: secops\n  url: %s/hook?x=1\n  events: [restricted, recovered]\n  secret_file: {{secret}}\n  ca_file: %s\n%s",
			rcv.srv.URL, rcv.caFile(t), fast))
	}
	forEachDialect(t, cfg, func(t *testing.T, s *store.Store, d *Dispatcher) {
		send(t, s, "darwin-other-vendors", "h-1", "mac-01", 0)
		reportID := send(t, s, "darwin-kis", "h-1", "mac-01", 1)
		send(t, s, "darwin-kis", "h-1", "mac-01", 2) // no change
		drain(t, s, d)
		got := rcv.requests()
		if len(got) != 1 {
			t.Fatalf("%d requests, want 1", len(got))
		}
		r := got[0]
		if err := Verify([]byte(testSecret), r.header.Get(SignatureHeader), r.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("signature: %v (header %q)", err, r.header.Get(SignatureHeader))
		}
		if err := Verify([]byte("another-secret-0123456789"), r.header.Get(SignatureHeader), r.body, time.Now(), 5*time.Minute); err == nil {
			t.Error("the signature verifies with another secret")
		}
		var m Message
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		if m.Version != 1 || m.Event != "restricted" || m.State != "restricted" || m.PreviousState != "clean" ||
			m.Verdict != "non_compliant" || m.Host.ID != "h-1" || m.Host.Hostname != "mac-01" || m.Host.OS != "darwin" ||
			m.ReportID != reportID || !slices.Equal(m.Restricted, []string{"Kaspersky Internet Security for Mac"}) ||
			m.RestrictedCount != 1 || !m.ScannedAt.Equal(t0.Add(time.Minute)) || m.EventID == "" {
			t.Errorf("message %+v", m)
		}
		if r.header.Get(EventIDHeader) != m.EventID || r.header.Get(EventHeader) != "restricted" ||
			r.header.Get(AttemptHeader) != "1" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.header)
		}
		if want := []string{"secops:restricted:delivered:1"}; !slices.Equal(states(t, s), want) {
			t.Errorf("outbox %v, want %v", states(t, s), want)
		}
		if m := metrics(d); !strings.Contains(m, `avscout_collector_alerts_delivered_total{webhook="secops"} 1`) ||
			!strings.Contains(m, "avscout_collector_alerts_pending 0") {
			t.Errorf("metrics:\n%s", m)
		}
	})
}

// A receiver that answers 500 twice, then 200, gets the alert three
// times with one event id, and it is delivered once: no further attempt.
// Meanwhile the host recovers; its recovery waits for the alert before.
func TestRetryAfterServerErrors(t *testing.T) {
	var rcv *receiver
	cfg := func(t *testing.T) *Config {
		rcv = newReceiver(t, false, 500, 500, 200)
		return loadConfig(t, fmt.Sprintf("webhooks:\n- name: local\n  url: %s/\n  allow_http_loopback: true\n  events: [restricted, recovered]\n  secret_file: {{secret}}\n%s",
			rcv.srv.URL, fast))
	}
	forEachDialect(t, cfg, func(t *testing.T, s *store.Store, d *Dispatcher) {
		send(t, s, "debian-kaspersky", "h-2", "deb-02", 0)
		send(t, s, "windows-defender-crowdstrike", "h-2", "deb-02", 1) // clean: recovered
		drain(t, s, d)
		for range 5 {
			if _, err := d.Once(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		got := rcv.requests()
		var summary []string
		for _, r := range got {
			summary = append(summary, fmt.Sprintf("%s#%s=%d", r.header.Get(EventHeader), r.header.Get(AttemptHeader), r.code))
		}
		want := []string{"restricted#1=500", "restricted#2=500", "restricted#3=200", "recovered#1=200"}
		if !slices.Equal(summary, want) {
			t.Fatalf("requests %v, want %v", summary, want)
		}
		if got[0].header.Get(EventIDHeader) != got[2].header.Get(EventIDHeader) || got[2].header.Get(EventIDHeader) == got[3].header.Get(EventIDHeader) {
			t.Error("event ids: the retries must share one, the recovery have its own")
		}
		var m Message
		if err := json.Unmarshal(got[3].body, &m); err != nil || m.Event != "recovered" || m.PreviousState != "restricted" || m.State != "clean" {
			t.Errorf("recovery %+v, %v", m, err)
		}
		if want := []string{"local:restricted:delivered:3", "local:recovered:delivered:1"}; !slices.Equal(states(t, s), want) {
			t.Errorf("outbox %v, want %v", states(t, s), want)
		}
		mt := metrics(d)
		for _, line := range []string{`avscout_collector_alert_attempts_failed_total{webhook="local"} 2`,
			`avscout_collector_alerts_delivered_total{webhook="local"} 2`} {
			if !strings.Contains(mt, line) {
				t.Errorf("metrics lack %s:\n%s", line, mt)
			}
		}
	})
}

// An alert that cannot be delivered within give_up_after is given up,
// and that shows in the outbox and the metrics; a redirect is not
// followed.
func TestGiveUpAndNoRedirect(t *testing.T) {
	var rcv, elsewhere *receiver
	cfg := func(t *testing.T) *Config {
		elsewhere = newReceiver(t, false)
		rcv = &receiver{srv: httptest.NewServer(http.RedirectHandler(elsewhere.srv.URL+"/stolen", http.StatusTemporaryRedirect))}
		t.Cleanup(rcv.srv.Close)
		return loadConfig(t, fmt.Sprintf("webhooks:\n- name: moved\n  url: %s/\n  allow_http_loopback: true\n  events: [incomplete]\n  secret_file: {{secret}}\n"+
			"delivery:\n  give_up_after: 1ms\n", rcv.srv.URL))
	}
	forEachDialect(t, cfg, func(t *testing.T, s *store.Store, d *Dispatcher) {
		send(t, s, "debian-incomplete", "h-3", "deb-03", 0)
		drain(t, s, d)
		if n := len(elsewhere.requests()); n != 0 {
			t.Errorf("the redirect was followed: %d requests elsewhere", n)
		}
		list, err := s.AlertStates(context.Background(), "h-3", 10)
		if err != nil || len(list) != 1 || list[0].Status != store.AlertFailed || !strings.Contains(list[0].LastError, "HTTP 307: \"redirect not followed\"") {
			t.Fatalf("outbox %+v, %v", list, err)
		}
		if m := metrics(d); !strings.Contains(m, `avscout_collector_alerts_given_up_total{webhook="moved"} 1`) ||
			!strings.Contains(m, "avscout_collector_alerts_failed 1") {
			t.Errorf("metrics:\n%s", m)
		}
	})
}

// A hostile hostname and product name stay inert: JSON-encoded in a JSON
// alert (and decoded back exactly), escaped in a Slack message so that no
// mention or link can form.
func TestHostileHostname(t *testing.T) {
	const hostile = "<!channel> <https://evil.example|click here> & @here <@U0123>\u202e*bold*\n`code` evil.example/login"
	var jsonRcv, slackRcv *receiver
	cfg := func(t *testing.T) *Config {
		jsonRcv, slackRcv = newReceiver(t, false), newReceiver(t, false)
		return loadConfig(t, fmt.Sprintf("webhooks:\n"+
			"- name: j\n  url: %s/\n  allow_http_loopback: true\n  events: [restricted]\n  secret_file: {{secret}}\n"+
			"- name: slack\n  url: %s/services/T0/B0/XYZ\n  allow_http_loopback: true\n  format: slack\n  events: [restricted]\n%s",
			jsonRcv.srv.URL, slackRcv.srv.URL, fast))
	}
	forEachDialect(t, cfg, func(t *testing.T, s *store.Store, d *Dispatcher) {
		send(t, s, "windows-white-label", "h-4", hostile, 0)
		drain(t, s, d)
		j, sl := jsonRcv.requests(), slackRcv.requests()
		if len(j) != 1 || len(sl) != 1 {
			t.Fatalf("requests: json %d, slack %d; want 1 each", len(j), len(sl))
		}
		if bytes.ContainsAny(j[0].body, "<>") {
			t.Errorf("raw < or > in the JSON alert: %s", j[0].body)
		}
		var m Message
		if err := json.Unmarshal(j[0].body, &m); err != nil || m.Host.Hostname != hostile {
			t.Errorf("JSON alert hostname %q, %v; want the host's exactly", m.Host.Hostname, err)
		}
		if sl[0].header.Get(SignatureHeader) != "" {
			t.Error("a slack webhook without a secret got a signature")
		}
		var msg struct {
			Text        string `json:"text"`
			UnfurlLinks *bool  `json:"unfurl_links"`
		}
		if err := json.Unmarshal(sl[0].body, &msg); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(msg.Text, "<>\u202e") || strings.Contains(msg.Text, "@here") {
			t.Errorf("slack text is not inert: %q", msg.Text)
		}
		// The hostname is one code span (no mrkdwn, no link of the bare
		// URL), its backticks turned into ˋ.
		for _, want := range []string{"host `&lt;!channel&gt; &lt;https://evil.example|click here&gt; &amp; @\u2060here &lt;@\u2060U0123&gt;", "*bold* \u02cbcode\u02cb evil.example/login` is *restricted*"} {
			if !strings.Contains(msg.Text, want) {
				t.Errorf("slack text lacks %q:\n%s", want, msg.Text)
			}
		}
		if msg.UnfurlLinks == nil || *msg.UnfurlLinks {
			t.Errorf("unfurl_links should be false: %s", sl[0].body)
		}
	})
}

func TestVerify(t *testing.T) {
	secret := []byte(testSecret)
	body := []byte(`{"event":"restricted"}`)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	sig := Sign(secret, at, body)
	if !strings.HasPrefix(sig, "t="+strconv.FormatInt(at.Unix(), 10)+",v1=") {
		t.Errorf("signature %q", sig)
	}
	for _, tt := range []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"good", sig, body, at.Add(time.Minute), true},
		{"changed_body", sig, []byte(`{"event":"recovered"}`), at, false},
		{"replayed_later", sig, body, at.Add(time.Hour), false},
		{"changed_time", strings.Replace(sig, "t=1", "t=2", 1), body, at, false},
		{"no_v1", "t=" + strconv.FormatInt(at.Unix(), 10), body, at, false},
		{"garbage", "hello", body, at, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(secret, tt.header, tt.body, tt.now, 5*time.Minute); (err == nil) != tt.ok {
				t.Errorf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "secret", testSecret)
	short := writeFile(t, dir, "short", "tiny")
	open := writeFile(t, dir, "open", testSecret)
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	hook := func(extra string) string {
		return "webhooks:\n- name: a\n  url: https://hooks.example.com/x\n  events: [restricted]\n" + extra
	}
	for _, tt := range []struct {
		name, doc, want string
	}{
		{"empty", "", "no webhooks"},
		{"unknown_field", hook("  secret_file: " + secret + "\n  colour: red\n"), "colour"},
		{"plain_http", "webhooks:\n- name: a\n  url: http://hooks.example.com/x\n  events: [restricted]\n  secret_file: " + secret + "\n", "plain http is refused"},
		{"http_not_loopback", "webhooks:\n- name: a\n  url: http://10.0.0.1/x\n  allow_http_loopback: true\n  events: [restricted]\n  secret_file: " + secret + "\n", "only to a loopback"},
		{"user_info", "webhooks:\n- name: a\n  url: https://u:p@hooks.example.com/\n  events: [restricted]\n  secret_file: " + secret + "\n", "user info"},
		{"unknown_event", "webhooks:\n- name: a\n  url: https://h.example/\n  events: [stale]\n  secret_file: " + secret + "\n", `unknown event "stale"`},
		{"no_events", "webhooks:\n- name: a\n  url: https://h.example/\n  secret_file: " + secret + "\n", "no events"},
		{"no_secret", hook(""), "needs secret_file or secret_env"},
		{"short_secret", hook("  secret_file: " + short + "\n"), "shorter than 16"},
		{"world_readable_secret", hook("  secret_file: " + open + "\n"), "chmod 600"},
		{"unset_env", hook("  secret_env: AVSCOUT_TEST_UNSET_SECRET\n"), "AVSCOUT_TEST_UNSET_SECRET is not set"},
		{"bad_format", hook("  secret_file: " + secret + "\n  format: xml\n"), `format "xml"`},
		{"bad_name", "webhooks:\n- name: A B\n  url: https://h.example/\n  events: [restricted]\n  secret_file: " + secret + "\n", `name "A B"`},
		{"twice", hook("  secret_file: "+secret+"\n") + "- name: a\n  url: https://h.example/\n  events: [recovered]\n  secret_file: " + secret + "\n", "name used twice"},
		{"retry_order", hook("  secret_file: "+secret+"\n") + "delivery:\n  retry_min: 1h\n  retry_max: 1m\n", "longer than retry_max"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, t.TempDir(), "alerts.yaml", tt.doc), Env{Getenv: func(string) string { return "" }})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v; want an error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
	worldReadable := writeFile(t, dir, "alerts.yaml", hook("  secret_file: "+secret+"\n"))
	if err := os.Chmod(worldReadable, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(worldReadable, Env{}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable config: %v", err)
	}
	env := map[string]string{"HOOK_SECRET": testSecret}
	cfg, err := Load(writeFile(t, dir, "env.yaml", hook("  secret_env: HOOK_SECRET\n  format: slack\n")), Env{Getenv: func(k string) string { return env[k] }})
	if err != nil || string(cfg.Webhooks[0].secret) != testSecret || cfg.Timeout != DefaultTimeout || cfg.Webhooks[0].Host() != "https://hooks.example.com" {
		t.Errorf("Load with secret_env: %+v, %v", cfg, err)
	}
}

// A receiver whose certificate the collector cannot verify, and one that
// does not answer within the timeout, get nothing delivered: the attempts
// fail (here given up at once) and say why.
func TestUnverifiedAndSlowReceivers(t *testing.T) {
	var untrusted, slow *receiver
	cfg := func(t *testing.T) *Config {
		untrusted = newReceiver(t, true)
		release := make(chan struct{})
		slow = &receiver{srv: httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))}
		t.Cleanup(slow.srv.Close)
		t.Cleanup(func() { close(release) })
		return loadConfig(t, fmt.Sprintf("webhooks:\n"+
			"- name: untrusted\n  url: %s/\n  events: [restricted]\n  secret_file: {{secret}}\n"+
			"- name: slow\n  url: %s/\n  allow_http_loopback: true\n  events: [restricted]\n  secret_file: {{secret}}\n"+
			"delivery:\n  timeout: 200ms\n  give_up_after: 1ms\n", untrusted.srv.URL, slow.srv.URL))
	}
	forEachDialect(t, cfg, func(t *testing.T, s *store.Store, d *Dispatcher) {
		send(t, s, "rocky-kaspersky", "h-5", "rocky-05", 0)
		drain(t, s, d)
		if n := len(untrusted.requests()); n != 0 {
			t.Errorf("the receiver with an unverified certificate got %d requests", n)
		}
		list, err := s.AlertStates(context.Background(), "h-5", 10)
		if err != nil || len(list) != 2 {
			t.Fatalf("outbox %+v, %v", list, err)
		}
		for _, a := range list {
			want := map[string]string{"untrusted": "certificate", "slow": "Client.Timeout"}[a.Webhook]
			if a.Status != store.AlertFailed || !strings.Contains(a.LastError, want) {
				t.Errorf("%s: %s, last error %q; want failed with %q", a.Webhook, a.Status, a.LastError, want)
			}
		}
	})
}
