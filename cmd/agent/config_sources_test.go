package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/sources"
	"github.com/avscout/avscout/internal/host"
)

// A misspelt source in scan.sources stops `config show` (and so the
// service) with the bad name and the names that would do, instead of
// every scheduled scan failing later.
func TestConfigShowUnknownSource(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		sources  string
		wantCode int
	}{
		{"[dpkgg]", exitUsage},
		{"[paths, processes]", exitOK},
	} {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte("scan:\n  sources: "+tt.sources+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := avscout(t, "config", "show", "--config", path)
		if code != tt.wantCode {
			t.Fatalf("config show with sources %s: exit %d, want %d\nstdout: %s\nstderr: %s", tt.sources, code, tt.wantCode, out, stderr)
		}
		if code == exitOK {
			continue
		}
		valid := strings.Join(sources.Names(host.OS(runtime.GOOS)), ", ")
		if !strings.Contains(stderr, `scan.sources`) || !strings.Contains(stderr, `unknown source "dpkgg"`) || !strings.Contains(stderr, valid) {
			t.Errorf("stderr %q: want scan.sources, the bad name and the valid ones (%s)", stderr, valid)
		}
	}
}
