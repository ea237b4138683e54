package collector

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
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
)

func TestLoadAdminCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const s1, s2 = "0123456789abcdef-one", "0123456789abcdef-two"
	for _, tt := range []struct {
		name, path string
		want       []string // names
		wantErr    string
	}{
		{"legacy_single_secret", write("legacy", "  "+s1+"\n", 0o600), []string{"admin"}, ""},
		{"named", write("named", "# who may read the fleet\nalice:"+s1+"\n\nbob.smith@example: "+s2+"\n", 0o600), []string{"alice", "bob.smith@example"}, ""},
		{"one_named", write("one", "alice:"+s1, 0o640), []string{"alice"}, ""},
		{"world_readable", write("world", "alice:"+s1, 0o644), nil, "accessible to all users"},
		{"empty", write("empty", "# nobody\n\n", 0o600), nil, "no credential"},
		{"short", write("short", "alice:short\n", 0o600), nil, "line 1: the secret must be at least 16"},
		{"legacy_short", write("lshort", "short\n", 0o600), nil, "at least 16"},
		{"two_bare_lines", write("bare", s1+"\n"+s2+"\n", 0o600), nil, "line 1: want NAME:SECRET"},
		{"bad_name", write("badname", "al ice:"+s1+"\n", 0o600), nil, "line 1: want NAME:SECRET"},
		{"empty_name", write("noname", ":"+s1+"\n", 0o600), nil, "want NAME:SECRET"},
		{"space_in_secret", write("space", "alice:"+s1+" x\n", 0o600), nil, "spaces or control"},
		{"duplicate_name", write("dupname", "alice:"+s1+"\nalice:"+s2+"\n", 0o600), nil, `line 2: the name "alice" is given twice`},
		{"duplicate_secret", write("dupsecret", "alice:"+s1+"\nbob:"+s1+"\n", 0o600), nil, `"bob" has the same secret as "alice"`},
		{"missing", filepath.Join(dir, "missing"), nil, "no such file"},
		{"directory", dir, nil, "not a regular file"},
		{"huge", write("huge", strings.Repeat("x", 70<<10), 0o600), nil, "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := LoadAdminCredentials(tt.path)
			if tt.wantErr == "" {
				if err != nil || !slices.Equal(a.Names(), tt.want) {
					t.Fatalf("= %v, %v; want %v", a, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

// A credential removed from the file is refused after the next reload;
// a broken file keeps the credentials in force.
func TestAdminCredentialsReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admins")
	const alice, bob = "alice-secret-0123456789", "bob-secret-0123456789"
	if err := os.WriteFile(path, []byte("alice:"+alice+"\nbob:"+bob+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := LoadAdminCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := a.match(bob); !ok || name != "bob" {
		t.Fatalf("bob: %q %v", name, ok)
	}
	if changed, err := a.Reload(); changed || err != nil {
		t.Errorf("Reload of an unchanged file: %v %v", changed, err)
	}
	rewrite := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		// A file system's clock may be coarse: make the change visible.
		later := time.Now().Add(time.Duration(len(content)) * time.Second)
		if err := os.Chtimes(path, later, later); err != nil {
			t.Fatal(err)
		}
	}
	rewrite("alice:" + alice + "\n")
	if changed, err := a.Reload(); !changed || err != nil {
		t.Fatalf("Reload after removing bob: %v %v", changed, err)
	}
	if _, ok := a.match(bob); ok {
		t.Error("bob still accepted after his line was removed")
	}
	if name, ok := a.match(alice); !ok || name != "alice" {
		t.Errorf("alice: %q %v", name, ok)
	}
	rewrite("alice:short\n")
	if _, err := a.Reload(); err == nil {
		t.Error("a broken file reloaded without error")
	}
	if _, ok := a.match(alice); !ok {
		t.Error("a broken file dropped the credentials in force")
	}

	// Watch does the same in the background, and logs.
	var logs syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Watch(ctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil))); close(done) }()
	rewrite("carol:carol-secret-0123456789\n")
	deadline := time.Now().Add(10 * time.Second)
	for _, ok := a.match("carol-secret-0123456789"); !ok; _, ok = a.match("carol-secret-0123456789") {
		if time.Now().After(deadline) {
			t.Fatalf("Watch did not reload:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, ok := a.match(alice); ok {
		t.Error("alice accepted after the reload")
	}
	if !strings.Contains(logs.String(), "names=carol") || strings.Contains(logs.String(), "secret-0123") {
		t.Errorf("reload log:\n%s", logs.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFailGuard(t *testing.T) {
	c := &clock{t: t0}
	g := newFailGuard(c.Now)
	var waits []time.Duration
	for range adminFreeFailures + 4 {
		if w := g.wait("192.0.2.1"); w > 0 {
			c.Set(c.Now().Add(w)) // the client honours Retry-After
		}
		_, w := g.fail("192.0.2.1")
		waits = append(waits, w)
	}
	want := []time.Duration{0, 0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("backoff %v, want %v", waits, want)
	}
	if g.wait("192.0.2.2") != 0 {
		t.Error("another client waits too")
	}
	// Bounded by adminBackoffMax.
	for range 40 {
		g.fail("192.0.2.1")
	}
	if w := g.wait("192.0.2.1"); w != adminBackoffMax {
		t.Errorf("wait after many failures %v, want %v", w, adminBackoffMax)
	}
	g.succeed("192.0.2.1")
	if g.wait("192.0.2.1") != 0 {
		t.Error("success did not reset")
	}
	// A quiet client starts afresh.
	for range adminFreeFailures {
		g.fail("192.0.2.3")
	}
	c.Set(c.Now().Add(adminForgetAfter + time.Minute))
	if n, w := g.fail("192.0.2.3"); n != 1 || w != 0 {
		t.Errorf("after a quiet hour: failure %d, wait %v", n, w)
	}

	// Memory is bounded: past maxAdminClients, new clients share one entry.
	g = newFailGuard(c.Now)
	for i := range maxAdminClients + 500 {
		for range adminFreeFailures {
			g.fail(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255))
		}
	}
	if n := len(g.clients); n > maxAdminClients+1 {
		t.Errorf("%d clients tracked, bound %d", n, maxAdminClients+1)
	}
	if g.wait("203.0.113.9") == 0 {
		t.Error("an untracked client is not slowed while the table is full of attackers")
	}
}

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:4431":               "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:4:5:6]:80": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:1":         "192.0.2.7",
		"not-an-address":               "not-an-address",
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		if got := clientKey(r); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// Through HTTP: named credentials reach the handler's context; wrong ones
// are logged without the secret and slowed down.
func TestAdminNamedAndThrottled(t *testing.T) {
	var logs syncBuf
	path := filepath.Join(t.TempDir(), "admins")
	const alice, bob = "alice-secret-0123456789", "bob-secret-0123456789"
	if err := os.WriteFile(path, []byte("alice:"+alice+"\nbob:"+bob+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	admins, err := LoadAdminCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "sqlite", func(o *Options) {
		o.Admins = admins
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if resp := e.getAs(t, "/v1/summary", "Bearer "+bob); resp.status != 200 {
		t.Fatalf("bob: %d", resp.status)
	}
	if resp := e.getAs(t, "/v1/summary", "Bearer "+adminToken); resp.status != 401 {
		t.Errorf("Options.AdminToken still accepted beside Admins: %d", resp.status)
	}
	var statuses []int
	var retry []string
	for i := range 12 {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/hosts", nil)
		req.SetBasicAuth("mallory", fmt.Sprintf("guess-%03d-0123456789", i))
		resp := do(t, req)
		statuses = append(statuses, resp.status)
		retry = append(retry, resp.header.Get("Retry-After"))
	}
	// adminToken's failure above was the first: four more 401s, then 429.
	want := []int{401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429, 429}
	if !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if ra, err := strconv.Atoi(retry[4]); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", retry[4])
	}
	// While throttled, even the right secret waits.
	if resp := e.getAs(t, "/v1/summary", "Bearer "+alice); resp.status != http.StatusTooManyRequests {
		t.Errorf("alice during the backoff: %d", resp.status)
	}
	out := logs.String()
	if n := strings.Count(out, "admin authentication failed"); n != 5 {
		t.Errorf("%d failure log lines, want 5:\n%s", n, out)
	}
	if !strings.Contains(out, "user=mallory") || !strings.Contains(out, "remote=127.0.0.1:") || strings.Contains(out, "guess-") || strings.Contains(out, adminToken) {
		t.Errorf("failure log lines:\n%s", out)
	}
}
