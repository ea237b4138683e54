//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// Attack bounds: how long the hostile clients keep sending, how many
// requests each may send, how many are in flight at once.
const (
	attackFor     = 15 * time.Second
	attackMaxEach = 400
	attackersEach = 20 // per kind of hostile body: 40 in flight
	attackTimeout = 3 * time.Second
	honestReports = 25
	honestEvery   = 150 * time.Millisecond
	rssLimit      = 512 << 20 // the collector's peak RSS under attack
	rssKill       = 3 << 30   // the watchdog kills the collector past this, to spare the machine
	// healthzBound is how long a /healthz probe may wait for an answer
	// before the collector counts as stuck: far above its latency on a
	// quiet machine (p50 and max are logged as figures), because shared CI
	// machines stretch every wall-clock time (2.3–3.5 s was seen there).
	healthzBound    = 10 * time.Second
	idleWindow      = 2 * time.Second
	idleCPUAllowed  = time.Second // of CPU time over idleWindow: half a core busy means work went on
	idleGrowAllowed = 16 << 20    // RSS growth over idleWindow
)

// Anyone holding an enrollment token attacks the real collector binary
// with gzip bombs (tiny evidence items inflating to the body limit) and
// with valid reports padded with long arrays, 40 requests in flight,
// abandoning each after a few seconds, while an honest agent sends its
// reports and an operator probes /healthz. The collector must stay small,
// answer /healthz, store every honest report (the agent retries on 503
// after Retry-After), and stop working once the attackers have left.
func TestIngestUnderAttack(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "avscout.db")
			if backend == "postgres" {
				db = pg.DSN(t)
			}
			adminFile, admin := writeAdminToken(t, dir)
			_, honestSecret := createToken(t, db, "fleet")
			_, hostileSecret := createToken(t, db, "stolen")
			c := &http.Client{Timeout: 30 * time.Second}
			// The per-token rate limit would stop a single stolen token on
			// its own: lift it, so that the bounds under test do the work
			// (an attacker may hold many tokens, or come through many
			// replicas).
			p := start(t, c, "http", "--db", db, "--admin-token-file", adminFile, "--rate", "100000", "--burst", "100000")
			pid := p.cmd.Process.Pid

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var peakSeen atomic.Int64
			watchDone := make(chan struct{})
			go func() { // the watchdog
				defer close(watchDone)
				for ctx.Err() == nil {
					if rss, err := procStatus(pid, "VmRSS"); err == nil {
						peakSeen.Store(max(peakSeen.Load(), rss))
						if rss > rssKill {
							t.Errorf("collector RSS %d MiB: killed by the watchdog", rss>>20)
							p.cmd.Process.Kill()
							return
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()

			bomb := gzipBomb(t)
			padded := paddedReport(t)
			t.Logf("hostile bodies: bomb %d KiB gzipped, padded report %d KiB gzipped", len(bomb.gz)>>10, len(padded.gz)>>10)

			start := time.Now()
			attackCtx, stopAttack := context.WithTimeout(ctx, attackFor)
			defer stopAttack()
			var attackWG sync.WaitGroup
			var sent, refused, overloaded atomic.Int64
			for _, body := range []hostileBody{bomb, padded} {
				tr := &http.Transport{MaxConnsPerHost: attackersEach, MaxIdleConnsPerHost: attackersEach}
				defer tr.CloseIdleConnections()
				hc := &http.Client{Transport: tr, Timeout: attackTimeout}
				for range attackersEach {
					attackWG.Go(func() {
						for range attackMaxEach {
							if attackCtx.Err() != nil {
								return
							}
							code, _ := rawPost(attackCtx, hc, p.base, hostileSecret, body.id, body.gz, nil)
							sent.Add(1)
							switch code {
							case http.StatusServiceUnavailable:
								overloaded.Add(1) // an attacker ignores Retry-After
							case 0:
							default:
								refused.Add(1)
							}
						}
					})
				}
			}

			// The operator's probe.
			var probeWG sync.WaitGroup
			var healthMu sync.Mutex
			var health []time.Duration
			probeWG.Go(func() {
				hc := &http.Client{Timeout: healthzBound}
				for attackCtx.Err() == nil {
					t0 := time.Now()
					resp, err := hc.Get(p.base + "/healthz")
					d := time.Since(t0)
					if err != nil {
						t.Errorf("/healthz during the attack: %v", err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("/healthz during the attack: %d", resp.StatusCode)
					}
					healthMu.Lock()
					health = append(health, d)
					healthMu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
			})

			// The honest agent: one report per host, retried on 503 and
			// 429 after Retry-After, as the agent does.
			type honest struct{ id, host string }
			var sentHonest []honest
			var honestWG sync.WaitGroup
			var honestRetries atomic.Int64
			hc := &http.Client{Timeout: 30 * time.Second}
			for i := range honestReports {
				host := fmt.Sprintf("honest-%02d", i)
				id, gz := goldenReport(t, "debian-kaspersky", host, time.Now())
				// Signed by the host's own agent key, as the agent does.
				key := agentKeyFor(host)
				signed := map[string]string{
					"Avscout-Public-Key": store.FormatKey(pubOf(key)),
					"Avscout-Signature":  "ed25519:" + base64.StdEncoding.EncodeToString(ed25519.Sign(key, gunzip(t, gz))),
				}
				sentHonest = append(sentHonest, honest{id, host})
				honestWG.Go(func() {
					deadline := time.Now().Add(attackFor + 60*time.Second)
					for {
						code, resp := rawPost(ctx, hc, p.base, honestSecret, id, gz, signed)
						switch {
						case code == http.StatusCreated || code == http.StatusOK:
							return
						case code == 0 || code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
						default:
							t.Errorf("honest report %s refused: %d %s", host, code, resp.body)
							return
						}
						if time.Now().After(deadline) {
							t.Errorf("honest report %s not stored by the deadline: last %d %s", host, code, resp.body)
							return
						}
						honestRetries.Add(1)
						wait := time.Second
						if s, err := strconv.Atoi(resp.retryAfter); err == nil {
							wait = time.Duration(s) * time.Second
						}
						time.Sleep(wait)
					}
				})
				time.Sleep(honestEvery)
			}

			attackWG.Wait()
			attackTime := time.Since(start)
			probeWG.Wait()
			honestWG.Wait()
			honestTime := time.Since(start)

			// After the attackers left, the collector does nothing.
			time.Sleep(500 * time.Millisecond)
			cpu0, rss0 := procCPU(t, pid), mustStatus(t, pid, "VmRSS")
			time.Sleep(idleWindow)
			cpu1, rss1 := procCPU(t, pid), mustStatus(t, pid, "VmRSS")
			hwm := mustStatus(t, pid, "VmHWM")
			cancel()
			<-watchDone

			healthMu.Lock()
			slices.Sort(health)
			var p50, worst time.Duration
			if len(health) > 0 {
				p50, worst = health[len(health)/2], health[len(health)-1]
			}
			healthMu.Unlock()
			t.Logf("attack: %d hostile requests in %v (%d answered 503, %d refused otherwise); peak RSS %d MiB; "+
				"/healthz p50 %v, max %v over %d probes; %d honest reports stored after %v with %d retries; "+
				"idle after: CPU +%v, RSS %d → %d MiB",
				sent.Load(), attackTime.Round(time.Millisecond), overloaded.Load(), refused.Load(), hwm>>20,
				p50, worst, len(health), honestReports, honestTime.Round(time.Millisecond), honestRetries.Load(),
				cpu1-cpu0, rss0>>20, rss1>>20)

			if hwm > rssLimit {
				t.Errorf("peak RSS %d MiB, want under %d MiB", hwm>>20, rssLimit>>20)
			}
			if d := cpu1 - cpu0; d > idleCPUAllowed {
				t.Errorf("the collector used %v of CPU in the %v after the attackers left: work went on without them", d, idleWindow)
			}
			if rss1 > rss0+idleGrowAllowed {
				t.Errorf("RSS grew from %d to %d MiB after the attackers left", rss0>>20, rss1>>20)
			}
			if refused.Load() == 0 && overloaded.Load() == 0 {
				t.Error("no hostile request was refused")
			}

			for _, h := range sentHonest {
				code, body := request(t, c, http.MethodGet, p.base+"/v1/hosts/"+h.host, "Bearer "+admin, nil, nil)
				var d store.HostDetail
				if err := json.Unmarshal(body, &d); code != 200 || err != nil || d.Latest.ReportID != h.id {
					t.Errorf("honest host %s: %d %.200s", h.host, code, body)
				}
			}
			if t.Failed() {
				t.Logf("collector log tail:\n%s", tail(p.stderr.String(), 4000))
			}
			if p.cmd.ProcessState == nil {
				p.stop(t)
			}
		})
	}
}

// hostileBody is a report body an attacker sends, gzipped.
type hostileBody struct {
	id string
	gz []byte
}

// gzipBomb is a report whose one product carries tiny evidence items
// filling the 8 MiB body limit: a few KiB on the wire.
func gzipBomb(t *testing.T) hostileBody {
	t.Helper()
	id := report.NewID()
	head := `{"schema_version":1,"report_id":"` + id + `","generated_at":"` + report.FormatTime(time.Now()) +
		`","duration_ms":1,"agent":{"name":"avscout","version":"1","catalog_version":"1"},` +
		`"host":{"id":"bomb","hostname":"bomb","os":"linux","os_version":"1","arch":"amd64","root":"/"},` +
		`"compliant":true,"products":[{"id":"p","vendor":"v","name":"n","version":"","category":"other","state":"leftover",` +
		`"restricted":false,"white_label":false,"confidence":"low","evidence":[{}`
	tailS := `]}],"sources":[]}`
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	write := func(p []byte) {
		if _, err := zw.Write(p); err != nil {
			t.Fatalf("gzip the bomb: %v", err)
		}
	}
	write([]byte(head))
	n := (8<<20 - len(head) - len(tailS) - 16) / 3
	item := []byte(",{}")
	chunk := bytes.Repeat(item, 4096)
	for n > 0 {
		k := min(n, 4096)
		write(chunk[:3*k])
		n -= k
	}
	write([]byte(tailS))
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip the bomb: %v", err)
	}
	return hostileBody{id, buf.Bytes()}
}

// paddedReport is a valid report (by the schema) padded with long arrays
// of valid evidence, explain lines and source warnings, under the 8 MiB
// body limit.
func paddedReport(t *testing.T) hostileBody {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "agent", "testdata", "golden", "debian-kaspersky.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["generated_at"] = report.FormatTime(time.Now()) // the golden file's is redacted
	var r report.Report
	if err := json.Unmarshal([]byte(mustMarshal(t, m)), &r); err != nil {
		t.Fatal(err)
	}
	r.ReportID = report.NewID()
	r.Host.ID, r.Host.Root = "padded", "/"
	ev := report.Evidence{Source: "files", Kind: "file", Value: "x", Location: "/opt/x"}
	for i := range r.Products {
		r.Products[i].Evidence = slices.Repeat([]report.Evidence{ev}, 24000)
		r.Products[i].Explain = slices.Repeat([]string{"e"}, 30000)
	}
	for i := range r.Sources {
		r.Sources[i].Warnings = slices.Repeat([]string{"w"}, 20000)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 8<<20 {
		t.Fatalf("padded report is %d bytes, over the body limit", len(raw))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatalf("gzip the padded report: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip the padded report: %v", err)
	}
	return hostileBody{r.ReportID, buf.Bytes()}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// postResult is what rawPost keeps of a response.
type postResult struct {
	body       string
	retryAfter string
}

// rawPost posts a gzipped report with the extra headers hdr (the agent's
// signature, when the sender is honest); a transport error gives code 0.
func rawPost(ctx context.Context, c *http.Client, base, secret, id string, gz []byte, hdr map[string]string) (int, postResult) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/reports", bytes.NewReader(gz))
	if err != nil {
		return 0, postResult{body: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Idempotency-Key", id)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, postResult{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, postResult{body: string(b), retryAfter: resp.Header.Get("Retry-After")}
}

// procStatus reads a "kB" field of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New(field + " not in /proc/<pid>/status")
}

func mustStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	v, err := procStatus(pid, field)
	if err != nil {
		t.Fatalf("collector %s: %v", field, err)
	}
	return v
}

// procCPU returns the CPU time (user + system) the process used so far.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: fields follow
	// the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parsing /proc/%d/stat: %q", pid, b)
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / hz
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
