package securitycenter

import (
	"context"
	"errors"
	"testing"

	"github.com/avscout/avscout/internal/detect"
)

// TestLiveQuerier runs the real WMI query: under Wine (the Linux CI's
// exec wrapper) and on Windows Server it must say unavailable, on a
// workstation it must answer.
func TestLiveQuerier(t *testing.T) {
	products, err := liveQuerier{}.AntiVirusProducts(context.Background())
	switch {
	case isWine() || isServer():
		if !errors.Is(err, detect.ErrUnavailable) {
			t.Errorf("wine %v, server %v: got %v, %v; want unavailable", isWine(), isServer(), products, err)
		}
	case err != nil:
		t.Errorf("workstation: %v", err)
	default:
		for _, p := range products {
			t.Logf("%s %s %#06x (%s)", p.DisplayName, p.PathToSignedProductExe, p.ProductState, Decode(p.ProductState))
		}
	}
}
