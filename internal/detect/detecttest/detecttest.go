// Package detecttest holds what the sources' tests share: running a
// source and gathering what it emits, on a root directory or on a
// live-looking Windows host whose registry is loaded from a .reg file.
// Each source's tests used to carry their own copy of these helpers.
package detecttest

import (
	"context"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/winreg"
)

// Collect runs src on h and returns what it emitted, in order, and the
// error Collect returned.
func Collect(t testing.TB, src detect.Source, h *host.Host) ([]detect.Observation, error) {
	t.Helper()
	var obs []detect.Observation
	err := src.Collect(context.Background(), h, func(o detect.Observation) { obs = append(obs, o) })
	return obs, err
}

// CollectRoot opens root as the filesystem of a target running os and
// runs src on it; failing to open the root fails the test.
func CollectRoot(t testing.TB, src detect.Source, root string, target host.OS) ([]detect.Observation, error) {
	t.Helper()
	h, err := host.OpenRoot(root, target)
	if err != nil {
		t.Fatal(err)
	}
	return Collect(t, src, h)
}

// RegistryHost returns a live-looking Windows host (system drive C:\)
// whose system drive is fsys and whose registry is a fake holding the
// .reg file regFile, imported in the 64-bit view with keys last written
// at written. The fake is returned too, for tests that change it.
func RegistryHost(t testing.TB, regFile string, fsys fs.FS, written time.Time) (*host.Host, *winreg.Fake) {
	t.Helper()
	reg := winreg.NewFake()
	reg.Time = written
	f, err := os.Open(regFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := reg.Import(f, winreg.View64); err != nil {
		t.Fatalf("import %s: %v", regFile, err)
	}
	return &host.Host{OS: host.Windows, Root: `C:\`, FS: fsys, Live: true, Registry: reg}, reg
}
