package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The published summary follows every update, is world-readable, and
// carries the scan's verdict without the report id or error text.
func TestPublishFollowsTheState(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "run", "avscout", "status.json")
	var logs bytes.Buffer
	f := OpenState(filepath.Join(dir, "state", "state.json"), slog.New(slog.NewTextHandler(&logs, nil)))
	f.Publish(pub, 90*time.Minute)
	p, err := ReadPublic(pub)
	if err != nil {
		t.Fatal(err)
	}
	if p.LastScan != nil || p.StaleAfterSeconds != 5400 || p.Version != StateVersion {
		t.Errorf("summary before any scan = %+v", p)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Update(func(s *State) {
		s.LastScan = &ScanState{At: at, ReportID: "0b7c6a53-4ad2-4d55-9a8e-3f1f0b3e2c11", Products: 2,
			Restricted: []string{"Kaspersky Endpoint Security for Linux"}, FailedSources: []string{"rpm"},
			Error: "queue report: write /var/lib/avscout/spool/x: no space left on device"}
		s.LastDelivery = &DeliveryState{At: at, Error: "Post https://collector.internal.example/v1/reports: timeout"}
	})
	p, err = ReadPublic(pub)
	if err != nil {
		t.Fatal(err)
	}
	ls := p.LastScan
	if ls == nil || !ls.At.Equal(at) || ls.Products != 2 || len(ls.Restricted) != 1 || len(ls.FailedSources) != 1 ||
		ls.ReportID != "" || ls.Error != PublicScanError {
		t.Errorf("summary = %+v", ls)
	}
	b, _ := os.ReadFile(pub)
	for _, secret := range []string{"0b7c6a53", "collector.internal", "/var/lib/avscout", "last_delivery"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the summary holds %q:\n%s", secret, b)
		}
	}
	for path, want := range map[string]os.FileMode{pub: 0o644, filepath.Dir(pub): 0o755} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	// The private state keeps everything.
	st, err := ReadState(filepath.Join(dir, "state", "state.json"))
	if err != nil || st.LastScan.ReportID == "" || st.LastDelivery == nil {
		t.Errorf("private state = %+v, %v", st, err)
	}
}

// A summary that cannot be written is logged once, not at every update,
// and never stops the state file.
func TestPublishFailureIsLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	f := OpenState(filepath.Join(dir, "state.json"), slog.New(slog.NewTextHandler(&logs, nil)))
	f.Publish(filepath.Join(blocker, "avscout", "status.json"), time.Hour)
	for i := 0; i < 3; i++ {
		f.Update(func(s *State) { s.NextScan = time.Now() })
	}
	if n := strings.Count(logs.String(), "could not publish"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	if _, err := ReadState(filepath.Join(dir, "state.json")); err != nil {
		t.Errorf("state file: %v", err)
	}
}

// Updates that leave the summary as it is (the next scan's time, a
// delivery) do not rewrite it; a new scan does.
func TestPublishRewritesOnlyChanges(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "status.json")
	f := OpenState(filepath.Join(dir, "state.json"), nil)
	f.Publish(pub, time.Hour)
	// A marker in place of the summary shows whether it was rewritten.
	const marker = "not rewritten\n"
	if err := os.WriteFile(pub, []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Update(func(s *State) { s.NextScan = time.Now() })
	f.Update(func(s *State) { s.LastDelivery = &DeliveryState{At: time.Now(), Sent: 1} })
	if b, _ := os.ReadFile(pub); string(b) != marker {
		t.Errorf("summary rewritten by updates that do not change it:\n%s", b)
	}
	f.Update(func(s *State) { s.LastScan = &ScanState{At: time.Now().UTC(), Products: 3} })
	p, err := ReadPublic(pub)
	if err != nil || p.LastScan == nil || p.LastScan.Products != 3 {
		t.Errorf("summary after a scan = %+v, %v", p, err)
	}
}
