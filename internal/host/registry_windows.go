package host

import "github.com/avscout/avscout/internal/winreg"

func newLiveRegistry() winreg.Registry { return winreg.Live() }
