package macos_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
)

// walkRoot is a root with bundles where the apps source looks, reached
// directly, through links, in any case, and some that must not be found.
func walkRoot(t *testing.T) fs.FS {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{
		"Applications/A.app/Contents/Info.plist",
		"Applications/A.app/Contents/PlugIns/Inner.app/Contents/Info.plist", // inside a bundle: not descended into
		"Applications/Vendor/B.app/Contents/Info.plist",
		"Applications/Vendor/Deep/C.app/Contents/Info.plist", // deeper than asked
		"Applications/D.APP/Contents/Info.plist",
		"Applications/.Hidden.app/Contents/Info.plist",
		"Shared/E.app/Contents/Info.plist",
	} {
		mactest.WriteFile(t, root, f, []byte("x"), 0o644)
	}
	mactest.WriteFile(t, root, "Applications/file.app", []byte("not a folder"), 0o644)
	mactest.Symlink(t, root, "Applications/Again.app", "A.app")            // the same bundle again
	mactest.Symlink(t, root, "Applications/Shared", "/Shared")             // absolute: inside the root
	mactest.Symlink(t, root, "Applications/Gone.app", "/nowhere/Gone.app") // dangling
	mactest.Symlink(t, root, "Applications/Loop.app", "Loop.app")
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.FS()
}

func TestBundleWalk(t *testing.T) {
	tooMany, tooManyDirs := errors.New("too many bundles"), errors.New("too many folders")
	for _, tt := range []struct {
		name       string
		dir        string
		depth      int
		skipHidden bool
		maxBundles int
		maxDirs    int
		want       []string // bundles visited, as listed
		wantErr    error
		wantWarn   string // in the recorded errors
	}{
		{name: "depth 1", dir: "Applications", depth: 1, skipHidden: true, maxBundles: 100,
			want:     []string{"Applications/A.app", "Applications/D.APP", "Applications/Shared/E.app", "Applications/Vendor/B.app"},
			wantWarn: "Loop.app"},
		{name: "hidden kept", dir: "Applications", depth: 0, maxBundles: 100,
			want:     []string{"Applications/.Hidden.app", "Applications/A.app", "Applications/D.APP"},
			wantWarn: "Loop.app"},
		{name: "deeper", dir: "Applications/Vendor", depth: 1, maxBundles: 100,
			want: []string{"Applications/Vendor/B.app", "Applications/Vendor/Deep/C.app"}},
		{name: "missing folder", dir: "Nothing", depth: 3, maxBundles: 100},
		{name: "too many bundles", dir: "Applications", depth: 0, skipHidden: true, maxBundles: 1,
			want: []string{"Applications/A.app"}, wantErr: tooMany},
		{name: "too many folders", dir: "Applications", depth: 1, skipHidden: true, maxBundles: 100, maxDirs: 2,
			want:    []string{"Applications/A.app", "Applications/D.APP", "Applications/Shared/E.app"}, // Vendor is the third folder
			wantErr: tooManyDirs, wantWarn: "Loop.app"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var errs macos.Errors
			var got []string
			w := &macos.BundleWalk{FS: walkRoot(t), Ext: ".app", SkipHidden: tt.skipHidden, Errs: &errs,
				MaxBundles: tt.maxBundles, TooManyBundles: tooMany, MaxDirs: tt.maxDirs, TooManyDirs: tooManyDirs,
				Visit: func(name, real string) { got = append(got, name) },
			}
			err := w.Walk(context.Background(), tt.dir, tt.depth)
			slices.Sort(got)
			if !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) {
				t.Errorf("visited %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			rec := errs.Err()
			if tt.wantWarn == "" && rec != nil || tt.wantWarn != "" && (rec == nil || !detect.IsWarning(rec) || !strings.Contains(rec.Error(), tt.wantWarn)) {
				t.Errorf("recorded %v; want a warning naming %q", rec, tt.wantWarn)
			}
			// A second walk of the same folder finds nothing new.
			got = nil
			if err := w.Walk(context.Background(), tt.dir, tt.depth); tt.wantErr == nil && (err != nil || len(got) != 0) {
				t.Errorf("second walk: %q, %v; want nothing", got, err)
			}
		})
	}
}

func TestBundleWalkCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := &macos.BundleWalk{FS: walkRoot(t), Ext: ".app", Errs: &macos.Errors{}, MaxBundles: 100,
		Visit: func(name, real string) { t.Errorf("visited %s after cancel", name) }}
	if err := w.Walk(ctx, "Applications", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
}
