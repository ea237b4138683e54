//go:build !windows

package securitycenter

import "github.com/avscout/avscout/internal/detect"

// NewLive returns the source for this machine's Security Center; off
// Windows it is always unavailable.
func NewLive() detect.Source { return New(nil) }
