//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/alert"
)

// Nothing lost across a kill -9: reports turn a host restricted, then
// clean, while the webhook's receiver is down; the real collector binary
// tries, fails, and is killed with SIGKILL. Restarted with the receiver
// up, it delivers both alerts, in order, signed, each once.
func TestAlertsSurviveKill(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "avscout.db")
			if backend == "postgres" {
				db = pg.DSN(t)
			}
			adminFile, admin := writeAdminToken(t, dir)
			_, secret := createToken(t, db, "alerts-e2e")
			hookSecret := "e2e-hook-secret-" + strconv.Itoa(os.Getpid())
			if err := os.WriteFile(filepath.Join(dir, "hook.secret"), []byte(hookSecret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The receiver's address, with nothing listening yet.
			hookAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			alerts := filepath.Join(dir, "alerts.yaml")
			doc := fmt.Sprintf("webhooks:\n- name: e2e\n  url: http://%s/hook\n  allow_http_loopback: true\n"+
				"  events: [restricted, incomplete, unprotected, recovered]\n  secret_file: %s\n"+
				"delivery:\n  timeout: 5s\n  retry_min: 50ms\n  retry_max: 500ms\n",
				hookAddr, filepath.Join(dir, "hook.secret"))
			if err := os.WriteFile(alerts, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			c := &http.Client{}
			args := []string{"--db", db, "--admin-token-file", adminFile, "--alerts", alerts}
			p := start(t, c, "http", args...)

			now := time.Now().UTC().Truncate(time.Second)
			for i, golden := range []string{"debian-kaspersky", "windows-defender-crowdstrike"} {
				id, gz := goldenReport(t, golden, "e2e-host-1", now.Add(time.Duration(i-2)*time.Minute))
				if code, body := postReport(t, c, p.base, secret, id, gz); code != http.StatusCreated {
					t.Fatalf("POST %s: %d %s", golden, code, body)
				}
			}
			// The collector has tried the receiver, and failed.
			failed := regexp.MustCompile(`avscout_collector_alert_attempts_failed_total\{webhook="e2e"\} ([1-9][0-9]*)`)
			waitFor(t, "a failed delivery attempt", func() bool {
				return failed.MatchString(getText(t, c, p.base+"/metrics", "Bearer "+admin))
			})
			if log := p.logWith(t, "delivery failed; will retry"); strings.Contains(log, hookSecret) || !strings.Contains(log, "delivery failed; will retry") {
				t.Errorf("collector log (must say it retries, never show the secret):\n%s", log)
			}
			if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
				t.Fatal(err)
			}
			if err := <-p.exited; err == nil {
				t.Fatal("the collector exited cleanly after SIGKILL")
			}

			rcv := &hookReceiver{}
			ln, err := net.Listen("tcp", hookAddr)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(rcv)
			srv.Listener.Close()
			srv.Listener = ln
			srv.Start()
			defer srv.Close()

			p = start(t, c, "http", args...)
			waitFor(t, "both alerts at the receiver", func() bool { return len(rcv.got()) >= 2 })
			waitFor(t, "an empty outbox", func() bool {
				return strings.Contains(getText(t, c, p.base+"/metrics", "Bearer "+admin), "avscout_collector_alerts_pending 0\n")
			})
			p.stop(t)

			got := rcv.got()
			var events []string
			ids := map[string]bool{}
			for _, r := range got {
				if err := alert.Verify([]byte(hookSecret), r.sig, r.body, time.Now(), 10*time.Minute); err != nil {
					t.Errorf("signature of %s: %v", r.body, err)
				}
				var m alert.Message
				if err := json.Unmarshal(r.body, &m); err != nil {
					t.Fatal(err)
				}
				if m.Host.ID != "e2e-host-1" || ids[m.EventID] {
					t.Errorf("alert %+v (host, or a repeated event id)", m)
				}
				ids[m.EventID] = true
				events = append(events, m.PreviousState+">"+m.Event)
			}
			if want := ">restricted restricted>recovered"; strings.Join(events, " ") != want {
				t.Errorf("alerts %q, want %q", strings.Join(events, " "), want)
			}
		})
	}
}

// hookReceiver records the alerts it gets and answers 204.
type hookReceiver struct {
	mu   sync.Mutex
	reqs []hookRequest
}

type hookRequest struct {
	sig  string
	body []byte
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h.mu.Lock()
	h.reqs = append(h.reqs, hookRequest{r.Header.Get(alert.SignatureHeader), body})
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) got() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.reqs...)
}

// waitFor polls cond until it holds, failing t after two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 minutes for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
