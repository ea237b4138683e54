package scan

import (
	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/apk"
	"github.com/avscout/avscout/internal/detect/apps"
	"github.com/avscout/avscout/internal/detect/dpkg"
	"github.com/avscout/avscout/internal/detect/extensions"
	"github.com/avscout/avscout/internal/detect/installdirs"
	"github.com/avscout/avscout/internal/detect/launchd"
	"github.com/avscout/avscout/internal/detect/pacman"
	"github.com/avscout/avscout/internal/detect/paths"
	"github.com/avscout/avscout/internal/detect/pe"
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

// Available returns the sources that fit a target OS, in report order.
// Which sources read which OS is data here, not decisions inside them.
func Available(cat *catalog.Catalog, target host.OS) []detect.Source {
	os := string(target)
	wellKnown := paths.New(map[host.OS][]string{target: cat.Paths(os)}).WithPrograms(map[host.OS]paths.Programs{target: {
		Dirs:        cat.ProgramDirs(os),
		Executables: cat.ExecutableNames(os),
		Drivers:     cat.DriverNames(os),
	}})
	switch target {
	case host.Linux:
		return []detect.Source{dpkg.Source{}, rpm.Source{}, apk.Source{}, pacman.Source{}, units.New(), wellKnown, processes.New()}
	case host.Windows:
		return []detect.Source{
			uninstall.NewUninstall(),
			vendorkeys.NewVendorKeys(cat.Keys(os), cat.ProductKeys(os), cat.BasesKeys(os)),
			services.New(),
			securitycenter.NewLive(),
			wellKnown,
			processes.New(),
		}
	case host.Darwin:
		return []detect.Source{apps.New(), receipts.New(), launchd.New(), extensions.New(), wellKnown, processes.New()}
	default:
		return []detect.Source{wellKnown, processes.New()}
	}
}

// plan is what a scan of a target runs after its sources: the enrichers
// that look closer at what they saw, and the observations those need.
type plan struct {
	enrichers []detect.Enricher
	// wants keeps observations an enricher needs even when the catalog
	// does not know them: a white-labelled build hides behind names no
	// catalog lists, and only its signature gives it away.
	wants func(detect.Observation) bool
}

// enrichersFor returns the enrichers that fit a target OS; a Windows root
// (not live) also has its install folders looked in, since it has no
// processes to say which engine runs there.
func enrichersFor(cat *catalog.Catalog, target host.OS, live bool) plan {
	if target != host.Windows {
		return plan{}
	}
	if live {
		return plan{enrichers: []detect.Enricher{pe.New()}, wants: pe.Wants}
	}
	return plan{enrichers: []detect.Enricher{pe.New(), installdirs.New(cat.ExecutableNames(string(target)))}, wants: pe.Wants}
}
