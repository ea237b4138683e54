package main

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/avscout/avscout/internal/agent/svcmgr"
)

// agentExe is the agent's file name, beside this helper.
const agentExe = "avscout.exe"

// configureService quotes the service's image path when it is not (an
// unquoted path with spaces lets C:\Program.exe run as SYSTEM; Wine's
// Windows Installer writes it unquoted, `avscout service install` quotes
// it), sets the recovery actions (an error fails the install) and asks
// for delayed automatic start (a refusal is a note).
func configureService(name string) (note string, err error) {
	m, err := mgr.Connect()
	if err != nil {
		return "", fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return "", fmt.Errorf("open: %w", err)
	}
	defer s.Close()
	if err := quoteImagePath(s.Handle); err != nil {
		return "", err
	}
	// The same settings as `avscout service install`'s.
	if err := svcmgr.SetRecovery(s); err != nil {
		return "", err
	}
	if err := svcmgr.DelayStart(s); err != nil {
		return fmt.Sprintf("delayed start not set (the service starts automatically at boot): %v", err), nil
	}
	return "", nil
}

// quoteImagePath puts quotes around the executable of an unquoted image
// path ("C:\Program Files\avscout\avscout.exe service run --scm").
func quoteImagePath(h windows.Handle) error {
	var need uint32
	err := windows.QueryServiceConfig(h, nil, 0, &need)
	if err != nil && err != windows.ERROR_INSUFFICIENT_BUFFER {
		return fmt.Errorf("query config: %w", err)
	}
	buf := make([]byte, need)
	cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(h, cfg, need, &need); err != nil {
		return fmt.Errorf("query config: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own path: %w", err)
	}
	// The MSI installs this helper next to the agent.
	exe := filepath.Join(filepath.Dir(self), agentExe)
	quoted, changed := quote(windows.UTF16PtrToString(cfg.BinaryPathName), exe)
	if !changed {
		return nil
	}
	p, err := windows.UTF16PtrFromString(quoted)
	if err != nil {
		return err
	}
	if err := windows.ChangeServiceConfig(h, windows.SERVICE_NO_CHANGE, windows.SERVICE_NO_CHANGE, windows.SERVICE_NO_CHANGE,
		p, nil, nil, nil, nil, nil, nil); err != nil {
		return fmt.Errorf("quote the image path: %w", err)
	}
	return nil
}
