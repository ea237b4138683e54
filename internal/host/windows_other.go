//go:build !windows

package host

import "github.com/avscout/avscout/internal/winreg"

// Only Windows has a registry and a service control manager.

func newLiveRegistry() winreg.Registry { return nil }

func newLiveServices() ServiceLister { return nil }
