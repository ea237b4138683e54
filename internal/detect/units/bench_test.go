package units

import (
	"context"
	"os"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// BenchmarkCollectLive reads this machine's units and init scripts as the
// live scan does: every service unit and script is read and its program
// looked up, so its cost is that of the files, not of the directories.
func BenchmarkCollectLive(b *testing.B) {
	if _, err := os.Stat("/usr/lib/systemd/system"); err != nil {
		b.Skip("no systemd units on this machine")
	}
	h, err := host.Live(host.Linux)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n = 0
		if err := New().Collect(context.Background(), h, func(detect.Observation) { n++ }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "units")
}
