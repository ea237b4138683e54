package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Packages whose initialisation every agent process would pay for,
// although no scan needs them, are not linked into the agent: the SQLite
// engine (the rpm source reads rpmdb.sqlite and its write-ahead log with
// its own page reader), runtime/metrics (the memory guard reads
// runtime.MemStats) and go/format's parser (only the catalog generator
// formats Go source).
func TestAgentDependencies(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps: %v", goos, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "modernc.org/") || dep == "runtime/metrics" || dep == "database/sql" ||
				strings.HasPrefix(dep, "go/") {
				t.Errorf("GOOS=%s: the agent links %s", goos, dep)
			}
		}
	}
}
