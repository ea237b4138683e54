package main

import (
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/winreg"
)

// managedSettings reads the MDM/GPO policy key HKLM\SOFTWARE\Policies\avscout.
func managedSettings() (config.Managed, error) {
	return config.FromRegistry(winreg.Live()), nil
}
