// Package sources is the one list of the agent's sources: their names,
// the systems each reads, whether it needs the running machine, and how
// each is built from what the catalog knows. Scans pick their sources
// from it and the agent checks configured source names against it, so
// adding a source is one entry here.
package sources

import (
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/apk"
	"github.com/avscout/avscout/internal/detect/apps"
	"github.com/avscout/avscout/internal/detect/dpkg"
	"github.com/avscout/avscout/internal/detect/extensions"
	"github.com/avscout/avscout/internal/detect/launchd"
	"github.com/avscout/avscout/internal/detect/pacman"
	"github.com/avscout/avscout/internal/detect/paths"
	"github.com/avscout/avscout/internal/detect/processes"
	"github.com/avscout/avscout/internal/detect/receipts"
	"github.com/avscout/avscout/internal/detect/rpm"
	"github.com/avscout/avscout/internal/detect/securitycenter"
	"github.com/avscout/avscout/internal/detect/services"
	"github.com/avscout/avscout/internal/detect/uninstall"
	"github.com/avscout/avscout/internal/detect/units"
	"github.com/avscout/avscout/internal/detect/vendorkeys"
	"github.com/avscout/avscout/internal/host"
)

// All returns every source, in the order a scan starts them (a report
// lists them by name).
//
// The runner starts every source at once, but on a machine with few CPUs
// they begin in turn as one frees, and the one that begins last ends last
// when it is the longest. So the longest goes first, and the runner
// begins the first at once (see [detect.Runner.Run]): on a live Linux
// host that is units, which reads each unit file and looks up the
// program it runs (about half of the sources' time). Started fifth, it
// began after dpkg, paths and processes had taken both CPUs of a 2-core
// machine, and the sources took 5.8 ms of a live scan; started first,
// 5.4 ms (median of 100 alternated runs).
func All() []detect.Descriptor {
	linux := []host.OS{host.Linux}
	windows := []host.OS{host.Windows}
	darwin := []host.OS{host.Darwin}
	fixed := func(s detect.Source) func(detect.Knowledge) detect.Source {
		return func(detect.Knowledge) detect.Source { return s }
	}
	return []detect.Descriptor{
		{Name: "units", OS: linux, New: func(detect.Knowledge) detect.Source { return units.New() }},
		{Name: "dpkg", OS: linux, New: fixed(dpkg.Source{})},
		{Name: "rpm", OS: linux, New: fixed(rpm.Source{})},
		{Name: "apk", OS: linux, New: fixed(apk.Source{})},
		{Name: "pacman", OS: linux, New: fixed(pacman.Source{})},
		{Name: "uninstall", OS: windows, New: func(detect.Knowledge) detect.Source { return uninstall.NewUninstall() }},
		{Name: "vendorkeys", OS: windows, New: func(k detect.Knowledge) detect.Source {
			return vendorkeys.NewVendorKeys(k.Keys, k.ProductKeys, k.Definitions)
		}},
		{Name: "services", OS: windows, New: func(detect.Knowledge) detect.Source { return services.New() }},
		{Name: "securitycenter", OS: windows, NeedsLiveHost: true, New: func(detect.Knowledge) detect.Source { return securitycenter.NewLive() }},
		{Name: "apps", OS: darwin, New: func(detect.Knowledge) detect.Source { return apps.New() }},
		{Name: "receipts", OS: darwin, New: func(detect.Knowledge) detect.Source { return receipts.New() }},
		{Name: "launchd", OS: darwin, New: func(detect.Knowledge) detect.Source { return launchd.New() }},
		{Name: "extensions", OS: darwin, New: func(detect.Knowledge) detect.Source { return extensions.New() }},
		{Name: "paths", New: func(k detect.Knowledge) detect.Source {
			return paths.New(map[host.OS][]string{k.OS: k.Paths}).WithPrograms(map[host.OS]paths.Programs{k.OS: {
				Dirs:        k.ProgramDirs,
				Executables: k.Executables,
				Drivers:     k.Drivers,
			}})
		}},
		{Name: "processes", NeedsLiveHost: true, New: func(detect.Knowledge) detect.Source { return processes.New() }},
	}
}

// For returns the sources that read a target running o, in run order.
func For(o host.OS) []detect.Descriptor {
	var out []detect.Descriptor
	for _, d := range All() {
		if d.Fits(o) {
			out = append(out, d)
		}
	}
	return out
}

// Names returns the names of the sources that read a target running o;
// o "" means every source's name.
func Names(o host.OS) []string {
	var out []string
	for _, d := range All() {
		if o == "" || d.Fits(o) {
			out = append(out, d.Name)
		}
	}
	return out
}
