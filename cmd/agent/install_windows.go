package main

import (
	"fmt"

	"golang.org/x/sys/windows/svc/mgr"

	"github.com/avscout/avscout/internal/agent/svcmgr"
)

// afterInstall asks the SCM to start the service once boot has settled
// (delayed automatic start). Systems that refuse it (Wine) still get an
// automatic start: the refusal is a note, not a failure.
func afterInstall(name string) (note string) {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Sprintf("delayed start not set: %v", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Sprintf("delayed start not set: %v", err)
	}
	defer s.Close()
	if err := svcmgr.DelayStart(s); err != nil {
		return fmt.Sprintf("delayed start not set (the service starts automatically at boot): %v", err)
	}
	return ""
}
