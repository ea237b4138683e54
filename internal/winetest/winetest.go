// Package winetest runs Windows programs in a Wine prefix for the tests
// that check Windows behaviour on Linux: the agent's end-to-end tests in
// cmd/agent and the MSI tests in packaging/windows. Both need the same
// environment, the same output handling (files, not pipes) and the same
// C:\ path mapping, so it is written once here. See scripts/wine-prefix.sh
// and shared/reference/testing-on-linux.md §1 for the Wine facts used.
package winetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tools are the programs the Wine tests run (wine itself and the mingw-w64
// C compiler scripts/wine-prefix.sh and the fixtures use).
var Tools = []string{"wine", "wineserver", "wineboot", "x86_64-w64-mingw32-gcc"}

// Missing returns the Tools that are not on PATH.
func Missing() []string {
	var missing []string
	for _, tool := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// Prefix is one Wine prefix with its own wineserver.
type Prefix struct {
	t *testing.T
	// Dir is the prefix folder (WINEPREFIX).
	Dir string
	env []string
}

// Start starts a persistent wineserver for the prefix in dir, which
// scripts/wine-prefix.sh made, so that every later wine command starts
// warm. The caller stops it (Stop).
func Start(t *testing.T, dir string) *Prefix {
	t.Helper()
	p := &Prefix{t: t, Dir: dir, env: append(os.Environ(),
		"WINEPREFIX="+dir, "WINEDEBUG=-all", "DISPLAY=", "WINEARCH=win64", "WINEDLLOVERRIDES=mscoree,mshtml=")}
	if err := p.Cmd("wineserver", "-p").Run(); err != nil {
		t.Fatalf("wineserver -p: %v", err)
	}
	return p
}

// Stop kills the prefix's wineserver and its processes and waits until
// it is gone.
func (p *Prefix) Stop() {
	// Both fail when no wineserver runs, which is what Stop wants anyway.
	_ = p.Cmd("wineserver", "-k").Run()
	_ = p.Cmd("wineserver", "-w").Run()
}

// Cmd is a command run with the prefix's environment.
func (p *Prefix) Cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = p.env
	return c
}

// Output runs c with its output going to files rather than pipes: the
// first wine command of a prefix starts Wine's own services, which inherit
// its stdout and stderr and would keep a pipe open, and the command's
// Wait with it, for as long as they live.
func (p *Prefix) Output(c *exec.Cmd) (stdout, stderr []byte, err error) {
	p.t.Helper()
	dir := p.t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		p.t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		p.t.Fatal(err)
	}
	defer errf.Close()
	c.Stdout, c.Stderr = out, errf
	err = c.Run()
	stdout, _ = os.ReadFile(out.Name())
	stderr, _ = os.ReadFile(errf.Name())
	return stdout, stderr, err
}

// Local returns the Linux path of a C:\ path in the prefix, matching
// existing folders case-insensitively as Windows would.
func (p *Prefix) Local(winPath string) string {
	p.t.Helper()
	rel, ok := strings.CutPrefix(winPath, `C:\`)
	if !ok {
		p.t.Fatalf("not a C:\\ path: %s", winPath)
	}
	dir := filepath.Join(p.Dir, "drive_c")
	for _, c := range strings.Split(rel, `\`) {
		next := filepath.Join(dir, c)
		if ents, err := os.ReadDir(dir); err == nil {
			for _, e := range ents {
				if strings.EqualFold(e.Name(), c) {
					next = filepath.Join(dir, e.Name())
					break
				}
			}
		}
		dir = next
	}
	return dir
}
