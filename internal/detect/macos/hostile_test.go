package macos_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/plist"
	"github.com/avscout/avscout/internal/safefs"
)

// A planted Info.plist is an error that names the file and the limit it
// broke, returned at once; the bundle beside it reads as usual.
func TestReadPlistHostile(t *testing.T) {
	root := t.TempDir()
	good := hostile.InfoPlistXML("com.kaspersky.kav", "Kaspersky", "21.0", "kav")
	mactest.WriteFile(t, root, "Applications/K.app/Contents/Info.plist", good, 0o644)
	mactest.WriteFile(t, root, "Applications/Bomb.app/Contents/Info.plist", hostile.PlistBomb(60), 0o644)
	mactest.WriteFile(t, root, "Applications/Deep.app/Contents/Info.plist", hostile.DeepXMLPlist(5<<20-1024), 0o644)
	mactest.WriteFile(t, root, "Applications/Cycle.app/Contents/Info.plist", hostile.PlistCycle(), 0o644)
	f, err := os.Create(root + "/Applications/Sparse.plist")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fsys := safefs.Root(r)
	tests := []struct {
		name string
		is   error
		says string
	}{
		{"Applications/Bomb.app/Contents/Info.plist", plist.ErrLimit, "Applications/Bomb.app/Contents/Info.plist: not a valid property list: binary property list expands to more than 1048576 values"},
		{"Applications/Deep.app/Contents/Info.plist", plist.ErrLimit, "Applications/Deep.app/Contents/Info.plist: not a valid property list: XML property list nested deeper than 128 levels"},
		{"Applications/Cycle.app/Contents/Info.plist", macos.ErrBadPlist, "contains itself"},
		{"Applications/Sparse.plist", safefs.ErrTooLarge, "Applications/Sparse.plist: too large: 2147483648 bytes, over the 5 MiB limit of a property list"},
	}
	for _, tt := range tests {
		start := time.Now()
		_, _, err := macos.ReadPlist(fsys, tt.name)
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want %v saying %q", tt.name, err, tt.is, tt.says)
		}
		t.Logf("%s: %v in %s", tt.name, err, time.Since(start))
	}
	if d, _, err := macos.ReadPlistContext(context.Background(), fsys, "applications/k.app/contents/info.plist"); err != nil || d.String("CFBundleIdentifier") != "com.kaspersky.kav" {
		t.Errorf("the good bundle: %v, %v", d, err)
	}
}
