//go:build !windows && !darwin

package main

import "github.com/avscout/avscout/internal/config"

// managedSettings: Linux has no MDM policy store; fleets manage the config
// file (and the environment) with their configuration tools.
func managedSettings() (config.Managed, error) { return nil, nil }
