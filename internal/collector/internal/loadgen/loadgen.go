// Package loadgen measures how many reports a collector accepts: it posts
// gzip-compressed, Ed25519-signed reports from a fleet of simulated hosts
// over a number of concurrent connections, as agents do, and reports the
// accepted rate, latency percentiles and errors.
//
// It is for loopback only (it refuses any other address) and bounded: it
// stops after Count reports or Duration, whichever comes first. The
// reports are variations of one template (a new report id, host and time
// each), prepared before the clock starts, so that the client's own work
// is mostly HTTP.
package loadgen

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
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/avscout/avscout/internal/report"
)

// Defaults of [Config].
const (
	DefaultConns    = 20
	DefaultCount    = 20000
	DefaultDuration = 60 * time.Second
	DefaultHosts    = 5000
	// MaxCount bounds Count: the prepared bodies are kept in memory.
	MaxCount = 1_000_000
)

// Config says what to send where.
type Config struct {
	// URL is the collector's base URL; its host must be a loopback
	// address (127.0.0.0/8, ::1 or localhost).
	URL string
	// Token is an enrollment token's secret.
	Token string
	// Template is the report every report sent is made from.
	Template *report.Report
	// Conns is the number of concurrent connections (default DefaultConns).
	Conns int
	// Count is how many reports to send at most (default DefaultCount);
	// Duration how long to send at most (default DefaultDuration).
	Count    int
	Duration time.Duration
	// Hosts is the size of the simulated fleet (default DefaultHosts):
	// report i is from host i mod Hosts, each host's reports newer than
	// its last.
	Hosts int
	// Start is the generated_at of the first report; later ones are a
	// millisecond apart. Zero means now minus Count milliseconds, so
	// that no report is in the future.
	Start time.Time
	// Client sends the requests; nil means one with Conns idle
	// connections per host.
	Client *http.Client
}

// Result is what a run measured.
type Result struct {
	Sent       int
	Accepted   int // 201 stored
	Duplicates int // 200 duplicate
	Errors     int // anything else, transport errors included
	// ByStatus counts the answers other than 201 and 200 by HTTP status;
	// 0 counts transport errors.
	ByStatus map[int]int
	// FirstError is the first error's description.
	FirstError string
	Elapsed    time.Duration
	P50, P99   time.Duration // latency of all requests
	Max        time.Duration
}

// Rate is accepted reports per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Elapsed.Seconds()
}

func (r Result) String() string {
	s := fmt.Sprintf("sent %d in %.2fs: accepted %d (%.0f/s), duplicates %d, errors %d; latency p50 %s p99 %s max %s",
		r.Sent, r.Elapsed.Seconds(), r.Accepted, r.Rate(), r.Duplicates, r.Errors,
		ms(r.P50), ms(r.P99), ms(r.Max))
	if r.Errors > 0 {
		s += fmt.Sprintf("; errors by status %v, first: %s", r.ByStatus, r.FirstError)
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// request is one prepared report.
type request struct {
	id        string
	body      []byte // gzip
	publicKey string
	signature string
}

// Prepare makes the n reports a run sends, before it starts: see [Run].
func prepare(cfg *Config) ([]request, error) {
	base, err := json.Marshal(cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("encoding the template report: %w", err)
	}
	keys := make([]ed25519.PrivateKey, cfg.Hosts)
	for i := range keys {
		// Deterministic per host, so that a second run against the same
		// database is from the same agents.
		seed := make([]byte, ed25519.SeedSize)
		copy(seed, fmt.Sprintf("loadgen-host-%08d", i))
		keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	reqs := make([]request, cfg.Count)
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	for i := range reqs {
		var r report.Report
		if err := json.Unmarshal(base, &r); err != nil {
			return nil, fmt.Errorf("copying the template report: %w", err)
		}
		host := i % cfg.Hosts
		r.ReportID = report.NewID()
		r.Host.ID = fmt.Sprintf("loadgen-%06d", host)
		r.Host.Hostname = r.Host.ID
		r.GeneratedAt = cfg.Start.Add(time.Duration(i) * time.Millisecond).Truncate(time.Second)
		if round := i / cfg.Hosts; round > 0 && (host+round)%10 == 0 && len(r.Products) > 0 {
			// Now and then a product is updated (and its next report
			// reverts it): about a fifth of a host's later reports
			// change something, the rest repeat the state before.
			r.Products[0].Version += fmt.Sprintf(".%d", round)
		}
		raw, err := json.Marshal(&r)
		if err != nil {
			return nil, fmt.Errorf("encoding report %d: %w", i, err)
		}
		zbuf.Reset()
		zw.Reset(&zbuf)
		if _, err := zw.Write(raw); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		k := keys[host]
		reqs[i] = request{
			id:        r.ReportID,
			body:      slices.Clone(zbuf.Bytes()),
			publicKey: "ed25519:" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey)),
			signature: "ed25519:" + base64.StdEncoding.EncodeToString(ed25519.Sign(k, raw)),
		}
	}
	return reqs, nil
}

// CheckLoopback returns an error unless rawURL's host is a loopback
// address.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("collector URL %q: %w", rawURL, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("collector URL %q: the load generator only talks to loopback addresses", rawURL)
}

// Run prepares a load ([Prepare]) and sends it ([Load.Send]).
func Run(ctx context.Context, cfg Config) (Result, error) {
	l, err := Prepare(cfg)
	if err != nil {
		return Result{}, err
	}
	defer l.Close()
	return l.Send(ctx), nil
}

// Load is a prepared run: the reports to send, encoded, compressed and
// signed.
type Load struct {
	cfg    Config
	client *http.Client
	reqs   []request
}

// Prepare checks cfg and makes the reports a run sends.
func Prepare(cfg Config) (*Load, error) {
	if err := CheckLoopback(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Template == nil {
		return nil, errors.New("loadgen: no template report")
	}
	if cfg.Conns <= 0 {
		cfg.Conns = DefaultConns
	}
	if cfg.Count <= 0 {
		cfg.Count = DefaultCount
	}
	if cfg.Count > MaxCount {
		return nil, fmt.Errorf("loadgen: count %d is over %d", cfg.Count, MaxCount)
	}
	if cfg.Duration <= 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Hosts <= 0 {
		cfg.Hosts = DefaultHosts
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().Add(-time.Duration(cfg.Count) * time.Millisecond)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Conns, MaxConnsPerHost: cfg.Conns, DisableCompression: true},
			Timeout:   30 * time.Second,
		}
	}
	reqs, err := prepare(&cfg)
	if err != nil {
		return nil, err
	}
	return &Load{cfg: cfg, client: client, reqs: reqs}, nil
}

// Close closes the idle connections of the load's own client.
func (l *Load) Close() {
	if l.cfg.Client == nil {
		l.client.CloseIdleConnections()
	}
}

// Send sends the prepared reports over cfg.Conns connections, until all
// are sent or cfg.Duration has passed, and measures the answers.
func (l *Load) Send(ctx context.Context) Result {
	cfg, client, reqs := l.cfg, l.client, l.reqs
	endpoint := strings.TrimSuffix(cfg.URL, "/") + "/v1/reports"

	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		res       = Result{ByStatus: map[int]int{}}
		latencies = make([]time.Duration, 0, len(reqs))
		wg        sync.WaitGroup
	)
	record := func(lat time.Duration, status int, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Sent++
		latencies = append(latencies, lat)
		switch {
		case err == nil && status == http.StatusCreated:
			res.Accepted++
		case err == nil && status == http.StatusOK:
			res.Duplicates++
		default:
			res.Errors++
			res.ByStatus[status]++
			if res.FirstError == "" {
				if err != nil {
					res.FirstError = err.Error()
				} else {
					res.FirstError = fmt.Sprintf("HTTP %d", status)
				}
			}
		}
	}
	start := time.Now()
	for range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				q := reqs[i]
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(q.body))
				if err != nil {
					record(0, 0, err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Content-Encoding", "gzip")
				req.Header.Set("Authorization", "Bearer "+cfg.Token)
				req.Header.Set("Idempotency-Key", q.id)
				req.Header.Set("Avscout-Public-Key", q.publicKey)
				req.Header.Set("Avscout-Signature", q.signature)
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return // the time is up: not the collector's error
					}
					record(time.Since(t), 0, err)
					continue
				}
				var msg []byte
				if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
					msg, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat := time.Since(t)
				if msg != nil {
					err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
				}
				record(lat, resp.StatusCode, err)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(latencies)
	res.P50, res.P99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	if len(latencies) > 0 {
		res.Max = latencies[len(latencies)-1]
	}
	return res
}

// percentile returns the p-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
