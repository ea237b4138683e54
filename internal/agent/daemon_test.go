package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/transport"
)

const (
	kasperskyMaintainer = "AO Kaspersky Lab <support@kaspersky.com>"
	debian12OSRelease   = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
`
)

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// debianRoot is a Debian image with Kaspersky Endpoint Security installed.
func debianRoot(t *testing.T) string {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/os-release"), debian12OSRelease)
	writeFile(t, filepath.Join(root, "var/lib/dpkg/status"),
		"Package: kesl\nStatus: install ok installed\nVersion: 12.1.0-2968\nMaintainer: "+kasperskyMaintainer+"\nArchitecture: amd64\n\n")
	return root
}

// keepMemoryLimit restores the runtime's memory limit, which NewDaemon sets
// from the config.
func keepMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
}

// Once against a real collector stand-in on loopback: what became of the
// report decides the summary and whether the run failed, and the state
// file records the delivery as the service's sender would.
func TestDaemonOnce(t *testing.T) {
	tests := []struct {
		name        string
		status      int // the collector's answer; 0: no collector configured
		want        DeliverySummary
		wantErr     string // in the summary's Err; "" for none
		wantRecord  bool
		wantSuccess bool
	}{
		{name: "no collector", want: DeliverySummary{NoCollector: true, Queued: 1}},
		{name: "accepted", status: http.StatusAccepted, want: DeliverySummary{Delivered: 1}, wantRecord: true, wantSuccess: true},
		{name: "refused for good", status: http.StatusBadRequest, want: DeliverySummary{DeadLettered: 1}, wantErr: "refused 1 report(s) for good", wantRecord: true},
		{name: "collector down", status: http.StatusServiceUnavailable, want: DeliverySummary{Queued: 1}, wantErr: "the report stays queued", wantRecord: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keepMemoryLimit(t)
			cfg := config.Defaults(config.Linux)
			cfg.StateDir = t.TempDir()
			var hits atomic.Int32
			if tt.status != 0 {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					if _, err := io.Copy(io.Discard, r.Body); err != nil {
						t.Errorf("read the request body: %v", err)
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					if _, err := io.WriteString(w, `{"code":"test","error":"test answer"}`); err != nil {
						t.Errorf("write the answer: %v", err)
					}
				}))
				t.Cleanup(srv.Close)
				cfg.Collector.URL = srv.URL
				cfg.Collector.Token = "enroll-token"
			}
			d, err := NewDaemon(cfg, DaemonOptions{Root: debianRoot(t), Target: host.Linux, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got, err := d.Once(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if (got.DeliveryErr != nil) != (tt.status == http.StatusServiceUnavailable) {
				t.Errorf("DeliveryErr %v", got.DeliveryErr)
			}
			if err := got.Err(); tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Err() = %v, want one saying %q", err, tt.wantErr)
			}
			got.DeliveryErr, got.DeadLetterReason = nil, ""
			if got != tt.want {
				t.Errorf("summary %+v, want %+v", got, tt.want)
			}
			if tt.status != 0 && hits.Load() == 0 {
				t.Error("the collector was not called")
			}
			st, err := ReadState(filepath.Join(cfg.StateDir, StateFileName))
			if err != nil {
				t.Fatal(err)
			}
			if st.LastScan == nil || st.LastScan.Verdict != "non_compliant" {
				t.Errorf("last scan %+v, want the restricted product's verdict", st.LastScan)
			}
			if (st.LastDelivery != nil) != tt.wantRecord {
				t.Fatalf("last delivery %+v, recorded %v", st.LastDelivery, tt.wantRecord)
			}
			if tt.wantRecord && st.LastDelivery.LastSuccess.IsZero() == tt.wantSuccess {
				t.Errorf("last delivery %+v: last success set %v, want %v", st.LastDelivery, !st.LastDelivery.LastSuccess.IsZero(), tt.wantSuccess)
			}
		})
	}
}

// The daemon refuses to start on a target it cannot open or a state
// directory it cannot create, naming what is wrong.
func TestNewDaemonErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, "not a folder")
	tests := []struct {
		name     string
		stateDir string
		root     string
		want     string
	}{
		{"missing root", t.TempDir(), filepath.Join(t.TempDir(), "absent"), "absent"},
		{"state dir under a file", filepath.Join(file, "state"), debianRoot(t), "state directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keepMemoryLimit(t)
			cfg := config.Defaults(config.Linux)
			cfg.StateDir = tt.stateDir
			d, err := NewDaemon(cfg, DaemonOptions{Root: tt.root, Target: host.Linux})
			if err == nil {
				d.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// NewDaemon applies the flags' overrides of the schedule, and publishes
// the public summary only for this host, not for a scanned image.
func TestNewDaemonOptions(t *testing.T) {
	keepMemoryLimit(t)
	cfg := config.Defaults(config.Linux)
	cfg.StateDir = t.TempDir()
	cfg.Schedule.Jitter = config.Duration(time.Minute)
	splay := 3 * time.Second
	public := filepath.Join(t.TempDir(), "status.json")
	d, err := NewDaemon(cfg, DaemonOptions{Root: debianRoot(t), Target: host.Linux, Interval: time.Second, Splay: &splay, PublicStatusFile: public})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if s := d.agent.Schedule; s.Interval != time.Second || s.Jitter != 0 || s.Splay != splay {
		t.Errorf("schedule %+v, want the overrides and no jitter", s)
	}
	if d.deliver != nil {
		t.Error("a sender without a collector")
	}
	if _, err := d.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(public); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an image's scan published %s (%v)", public, err)
	}
	if got := debug.SetMemoryLimit(-1); got != cfg.Scan.MemoryLimit {
		t.Errorf("memory limit %d, want the config's %d", got, cfg.Scan.MemoryLimit)
	}
}

func TestRecordDelivery(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	t1 := t0.Add(time.Hour)
	tests := []struct {
		name string
		prev *DeliveryState
		r    transport.Result
		want DeliveryState
	}{
		{"first success", nil, transport.Result{Sent: 2, At: t0},
			DeliveryState{At: t0.UTC(), Sent: 2, LastSuccess: t0.UTC()}},
		{"failure keeps the last success", &DeliveryState{LastSuccess: t0.UTC()}, transport.Result{Err: errors.New("503"), At: t1},
			DeliveryState{At: t1.UTC(), Error: "503", LastSuccess: t0.UTC()}},
		{"dead letter with its reason", nil, transport.Result{DeadLettered: 1, DeadLetterReason: "bad token", At: t0},
			DeliveryState{At: t0.UTC(), DeadLettered: 1, DeadLetterReason: "bad token"}},
		{"a later pass keeps the reason", &DeliveryState{DeadLetterReason: "bad token", LastSuccess: t0.UTC()}, transport.Result{Sent: 1, At: t1},
			DeliveryState{At: t1.UTC(), Sent: 1, DeadLetterReason: "bad token", LastSuccess: t1.UTC()}},
		{"a new reason replaces it", &DeliveryState{DeadLetterReason: "old"}, transport.Result{DeadLettered: 1, DeadLetterReason: "new", At: t1},
			DeliveryState{At: t1.UTC(), DeadLettered: 1, DeadLetterReason: "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), StateFileName)
			f := OpenState(path, nil)
			f.Update(func(s *State) { s.LastDelivery = tt.prev })
			f.RecordDelivery(tt.r)
			st, err := ReadState(path)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(st.LastDelivery)
			want, _ := json.Marshal(tt.want)
			if !bytes.Equal(got, want) {
				t.Errorf("recorded %s\nwant     %s", got, want)
			}
		})
	}
}

func TestDeliverySummary(t *testing.T) {
	tests := []struct {
		s       DeliverySummary
		line    string
		errSays string
	}{
		{DeliverySummary{NoCollector: true, Queued: 3}, "no collector.url configured: 3 report(s) queued", ""},
		{DeliverySummary{Delivered: 2}, "2 report(s) delivered, 0 queued, 0 dead-lettered", ""},
		{DeliverySummary{Queued: 1, DeliveryErr: errors.New("connection refused")}, "0 report(s) delivered, 1 queued, 0 dead-lettered", "delivery: connection refused (the report stays queued)"},
		{DeliverySummary{DeadLettered: 1, DeadLetterReason: "401 invalid token"}, "0 report(s) delivered, 0 queued, 1 dead-lettered", "moved to dead letters: 401 invalid token"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.line {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.line)
		}
		err := tt.s.Err()
		if tt.errSays == "" && err != nil || tt.errSays != "" && (err == nil || !strings.Contains(err.Error(), tt.errSays)) {
			t.Errorf("%+v: Err() = %v, want %q", tt.s, err, tt.errSays)
		}
	}
	cause := errors.New("cause")
	if err := (DeliverySummary{DeliveryErr: cause}).Err(); !errors.Is(err, cause) {
		t.Errorf("Err() = %v does not wrap the delivery error", err)
	}
}

func TestNewLogger(t *testing.T) {
	t.Run("stderr text", func(t *testing.T) {
		var stderr strings.Builder
		log, closeLog, err := NewLogger(config.Log{Level: "warn"}, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		defer closeLog()
		log.Info("quiet")
		log.Warn("loud", "k", "v")
		if got := stderr.String(); strings.Contains(got, "quiet") || !strings.Contains(got, "level=WARN msg=loud k=v") {
			t.Errorf("stderr %q", got)
		}
	})
	t.Run("file JSON", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "logs", "avscout.log")
		var stderr strings.Builder
		log, closeLog, err := NewLogger(config.Log{Level: "nonsense", File: file, MaxSizeMB: 1, MaxFiles: 2}, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		log.Debug("hidden")
		log.Info("shown")
		closeLog()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		if err := json.Unmarshal(b, &rec); err != nil || rec["msg"] != "shown" || stderr.Len() != 0 {
			t.Errorf("log file %q (%v), stderr %q: want one JSON line at the default level", b, err, stderr.String())
		}
	})
	t.Run("unusable file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "file"), "x")
		if _, _, err := NewLogger(config.Log{File: filepath.Join(dir, "file", "a.log"), MaxSizeMB: 1, MaxFiles: 1}, io.Discard); err == nil {
			t.Error("no error for a log file under a file")
		}
	})
}
