//go:build !windows

package svcmgr

import (
	"fmt"

	"github.com/avscout/avscout/internal/agent/unit"
)

// newSCM fails: the service control manager is Windows' own.
func newSCM(unit.Service, string) (Manager, error) {
	return nil, fmt.Errorf("%w: the Windows service control manager runs only on Windows", ErrNoManager)
}
