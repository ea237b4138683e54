package pe

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/host"
)

// Only files that a listing of their folders proves missing are skipped:
// names match in any case, and a short 8.3 name is never judged.
func TestMissingFiles(t *testing.T) {
	h := &host.Host{OS: host.Windows, FS: fstest.MapFS{
		"Windows/System32/drivers/klif.sys": {Data: []byte("MZ")},
		"Program Files/Vendor/app.exe":      {Data: []byte("MZ")},
	}}
	files := []file{
		{target: "windows/system32/DRIVERS/klif.sys"},
		{target: "Windows/System32/drivers/gone.sys"},
		{target: "Program Files/Vendor/app.exe"},
		{target: "Program Files/Other/app.exe"},
		{target: "PROGRA~1/Vendor/app.exe"},
		{target: "Program Files/Vendor/app.exe/x.dll"},
	}
	got := missingFiles(h, files)
	want := []bool{false, true, false, true, false, false}
	if !slices.Equal(got, want) {
		t.Errorf("missingFiles = %v, want %v", got, want)
	}
}
