package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/avscout/avscout/internal/config"
)

// managedSettings reads the configuration profile an MDM installed:
// /Library/Managed Preferences/<bundle id>.plist. None is fine.
func managedSettings() (config.Managed, error) {
	path := "/Library/Managed Preferences/" + config.BundleID + ".plist"
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("managed preferences %s: %w", path, err)
	}
	defer f.Close()
	m, err := config.FromPlist(f)
	if err != nil {
		return nil, fmt.Errorf("managed preferences %s: %w", path, err)
	}
	return m, nil
}
