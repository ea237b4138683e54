package rpm

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/rpm/rpmtest"
	"github.com/avscout/avscout/internal/host"
)

// shared holds what is expensive to make and is made once per test binary:
// an rpm database built by rpm from testdata/*.spec, and the location of
// go-rpmdb's sample databases.
var shared struct {
	dir string // removed by TestMain

	specOnce sync.Once
	specDB   string // path of the built rpmdb.sqlite; "" when building failed

	samplesOnce sync.Once
	samples     string
	samplesErr  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "avscout-rpm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	shared.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// specDB returns the path of an rpmdb.sqlite that rpm built from the spec
// files in testdata. Tests must not change it: they copy it with newRoot.
func specDB(t testing.TB) string {
	t.Helper()
	shared.specOnce.Do(func() {
		specs, err := filepath.Glob("testdata/*.spec")
		if err != nil || len(specs) == 0 {
			t.Fatalf("no spec files in testdata: %v", err)
		}
		for i, s := range specs {
			if specs[i], err = filepath.Abs(s); err != nil {
				t.Fatal(err)
			}
		}
		root := filepath.Join(shared.dir, "specroot")
		rpmtest.BuildSpecs(t, root, specs, rpmtest.Options{})
		shared.specDB = filepath.Join(root, "var", "lib", "rpm", "rpmdb.sqlite")
	})
	if shared.specDB == "" {
		t.Fatal("building the rpm database from testdata/*.spec failed earlier")
	}
	return shared.specDB
}

// goRPMDBVersion is the go-rpmdb release whose sample databases the tests
// read from the module cache. The agent does not use go-rpmdb; its
// databases, captured from real CentOS, RHEL, Fedora and SUSE systems, are
// the only bdb and ndb files at hand, since rpm on Debian cannot write
// those formats.
const goRPMDBVersion = "github.com/knqyf263/go-rpmdb@v0.1.1"

// samples returns go-rpmdb's pkg/testdata directory, downloading the module
// into the module cache when it is not there yet.
func samples(t testing.TB) string {
	t.Helper()
	shared.samplesOnce.Do(func() {
		// go test puts its own GOROOT/bin first on PATH.
		cmd := exec.Command("go", "mod", "download", "-json", goRPMDBVersion)
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			shared.samplesErr = fmt.Errorf("go mod download %s: %w (%s)", goRPMDBVersion, err, out)
			return
		}
		var mod struct{ Dir, Error string }
		if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
			shared.samplesErr = fmt.Errorf("go mod download %s: %v %s", goRPMDBVersion, err, mod.Error)
			return
		}
		shared.samples = filepath.Join(mod.Dir, "pkg", "testdata")
	})
	if shared.samplesErr != nil {
		t.Fatalf("the bdb and ndb tests need go-rpmdb's sample databases: %v", shared.samplesErr)
	}
	return shared.samples
}

// sample returns the path of one of go-rpmdb's sample databases, such as
// "centos7-plain/Packages".
func sample(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(samples(t), filepath.FromSlash(name))
}

// newRoot returns a new root directory holding a copy of each src file at
// its target path (slash-separated, relative to the root).
func newRoot(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for target, src := range files {
		copyTo(t, src, filepath.Join(root, filepath.FromSlash(target)))
	}
	return root
}

func copyTo(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// collect runs the source on root as a scan with --root would.
func collect(t testing.TB, root string) ([]detect.Observation, error) {
	t.Helper()
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return collectHost(context.Background(), h)
}

func collectHost(ctx context.Context, h *host.Host) ([]detect.Observation, error) {
	var obs []detect.Observation
	err := Source{}.Collect(ctx, h, func(o detect.Observation) { obs = append(obs, o) })
	return obs, err
}

// byName returns the observations sorted by name, then version.
func byName(obs []detect.Observation) []detect.Observation {
	obs = slices.Clone(obs)
	slices.SortFunc(obs, func(a, b detect.Observation) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
	return obs
}

// find returns the observation for the package name.
func findObs(obs []detect.Observation, name string) (detect.Observation, bool) {
	for _, o := range obs {
		if o.Name == name {
			return o, true
		}
	}
	return detect.Observation{}, false
}

// fileState is what a scan must leave unchanged in a file or directory.
type fileState struct {
	Mode  fs.FileMode
	Size  int64
	MTime time.Time
	Sum   [32]byte
}

var epoch2020 = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// freeze sets the modification time of everything under dir, dir included,
// to a fixed past time, so that any write shows.
func freeze(t testing.TB, dir string) {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(paths) // children before their directory
	for _, p := range paths {
		if err := os.Chtimes(p, epoch2020, epoch2020); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot records the state of everything under dir, dir included.
func snapshot(t testing.TB, dir string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fileState{Mode: info.Mode(), Size: info.Size(), MTime: info.ModTime()}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st.Sum = sha256.Sum256(b)
		}
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameSnapshot reports how two snapshots differ.
func diffSnapshots(before, after map[string]fileState) []string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(before)) {
		a, ok := after[k]
		switch {
		case !ok:
			diffs = append(diffs, k+": removed")
		case a != before[k]:
			diffs = append(diffs, fmt.Sprintf("%s: changed from %+v to %+v", k, before[k], a))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, k+": created")
		}
	}
	return diffs
}
