package sources

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/winreg"
)

// Each entry builds the source it names, and names are unique: reports,
// --sources and the config file all go by them.
func TestAllBuildsWhatItNames(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range All() {
		if seen[d.Name] {
			t.Errorf("source %q listed twice", d.Name)
		}
		seen[d.Name] = true
		for _, o := range []host.OS{host.Linux, host.Windows, host.Darwin} {
			if !d.Fits(o) {
				continue
			}
			s := d.New(detect.Knowledge{OS: o})
			if s == nil || s.Name() != d.Name {
				t.Errorf("descriptor %q for %s builds %v", d.Name, o, s)
			}
		}
	}
}

func TestForAndNames(t *testing.T) {
	for _, tt := range []struct {
		os   host.OS
		want string
		live []string
	}{
		{host.Linux, "units dpkg rpm apk pacman paths processes", []string{"processes"}},
		{host.Windows, "uninstall vendorkeys services securitycenter paths processes", []string{"securitycenter", "processes"}},
		{host.Darwin, "apps receipts launchd extensions paths processes", []string{"processes"}},
		{"plan9", "paths processes", []string{"processes"}},
	} {
		if got := strings.Join(Names(tt.os), " "); got != tt.want {
			t.Errorf("Names(%s) = %q, want %q", tt.os, got, tt.want)
		}
		var live []string
		for _, d := range For(tt.os) {
			if d.NeedsLiveHost {
				live = append(live, d.Name)
			}
		}
		if !slices.Equal(live, tt.live) {
			t.Errorf("%s: live-only sources %v, want %v", tt.os, live, tt.live)
		}
	}
	if all := Names(""); len(all) != len(All()) || !slices.Contains(all, "dpkg") || !slices.Contains(all, "uninstall") {
		t.Errorf("Names(\"\") = %v", all)
	}
}

// What the catalog knows reaches the sources that use it.
func TestKnowledgeReachesSources(t *testing.T) {
	reg := winreg.NewFake()
	reg.Set(winreg.LocalMachine, `SOFTWARE\Acme`, winreg.View64, "v", winreg.Value{Type: winreg.SZ})
	for _, tt := range []struct {
		source string
		k      detect.Knowledge
		h      *host.Host
		want   string // the Path of the one observation
	}{
		{"vendorkeys", detect.Knowledge{OS: host.Windows, Keys: []string{`HKLM\SOFTWARE\Acme`}},
			&host.Host{OS: host.Windows, Live: true, Registry: reg, FS: fstest.MapFS{}}, `HKLM\SOFTWARE\Acme`},
		{"paths", detect.Knowledge{OS: host.Linux, Paths: []string{"/opt/acme"}},
			&host.Host{OS: host.Linux, FS: fstest.MapFS{"opt/acme/bin": {}}}, "/opt/acme"},
	} {
		i := slices.IndexFunc(All(), func(d detect.Descriptor) bool { return d.Name == tt.source })
		var got []detect.Observation
		err := All()[i].New(tt.k).Collect(context.Background(), tt.h, func(o detect.Observation) { got = append(got, o) })
		if err != nil || len(got) != 1 || got[0].Path != tt.want {
			t.Errorf("%s: %+v, %v; want one observation of %s", tt.source, got, err, tt.want)
		}
	}
}
