package pe

import (
	"fmt"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
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
		{target: "Program Files/Running/app.exe", status: detect.Running},
	}
	got := missingFiles(h, files)
	want := []bool{false, true, false, true, false, false, false}
	if !slices.Equal(got, want) {
		t.Errorf("missingFiles = %v, want %v", got, want)
	}
}

// A filesystem that matches any case itself is read the short way, with
// the same outcome: the files the long way finds, in the same names.
func TestEnrichCaseInsensitiveFS(t *testing.T) {
	f := newEnrichFixture(t)
	trust := func() *fakeTrust {
		return &fakeTrust{trusted: map[string]bool{"KES.12.3.0/avp.exe": true, "drivers/klif.sys": true}}
	}
	want, wantErr := enrich(t, &Enricher{Trust: trust()}, f.host, f.observations())
	h := *f.host
	h.CaseInsensitiveFS = true // not true of the fixture: names in another case take the long way
	got, err := enrich(t, &Enricher{Trust: trust()}, &h, f.observations())
	if !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Errorf("err %v, want %v", err, wantErr)
	}
}
