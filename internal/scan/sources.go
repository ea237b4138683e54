package scan

import (
	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/apk"
	"github.com/avscout/avscout/internal/detect/dpkg"
	"github.com/avscout/avscout/internal/detect/paths"
	"github.com/avscout/avscout/internal/detect/procs"
	"github.com/avscout/avscout/internal/detect/rpm"
	"github.com/avscout/avscout/internal/detect/units"
	"github.com/avscout/avscout/internal/host"
)

// Available returns the sources that fit a target OS, in report order.
// Which sources read which OS is data here, not decisions inside them.
func Available(cat *catalog.Catalog, target host.OS) []detect.Source {
	wellKnown := paths.New(map[host.OS][]string{target: cat.Paths(string(target))})
	switch target {
	case host.Linux:
		return []detect.Source{dpkg.Source{}, rpm.Source{}, apk.Source{}, units.New(), wellKnown, procs.New()}
	default:
		return []detect.Source{wellKnown, procs.New()}
	}
}
