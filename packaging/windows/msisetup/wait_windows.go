package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// waitExit waits until no process runs the agent executable next to this
// helper and the file is no longer mapped as an image, for at most limit.
// The MSI runs it on removal after StopServices and before RemoveFiles:
// the SCM reports the service stopped a moment before its process has
// exited, and a file still mapped by a process cannot be deleted (Windows
// Installer then leaves it for a reboot; Wine's leaves it for good). The
// process list alone is not enough: a process being torn down can no
// longer be opened, or has left the list, while its image is still
// mapped.
func waitExit(limit time.Duration) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("own path: %w", err)
	}
	exe := filepath.Join(filepath.Dir(self), agentExe)
	deadline := time.Now().Add(limit)
	for {
		pids, err := running(exe)
		if err != nil {
			return "", err
		}
		mapped := len(pids) == 0 && imageMapped(exe)
		if len(pids) == 0 && !mapped {
			return "no process runs " + exe, nil
		}
		if time.Now().After(deadline) {
			if mapped {
				return fmt.Sprintf("%s is still in use after %s: Windows Installer removes it at the next reboot", exe, limit), nil
			}
			return fmt.Sprintf("%s still runs (pids %v) after %s: Windows Installer removes it at the next reboot", exe, pids, limit), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// imageMapped reports whether exe is mapped as a running image: such a
// file cannot be opened for writing (ERROR_SHARING_VIOLATION, on Windows
// and in Wine alike), whatever share mode the opener grants. The file is
// opened and closed, never written.
func imageMapped(exe string) bool {
	p, err := windows.UTF16PtrFromString(exe)
	if err != nil {
		return false
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return errors.Is(err, windows.ERROR_SHARING_VIOLATION)
	}
	windows.CloseHandle(h)
	return false
}

// running returns the ids of the processes whose image is exe.
func running(exe string) ([]uint32, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("process snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	err = windows.Process32First(snap, &pe)
	var pids []uint32
	for err == nil {
		if strings.EqualFold(windows.UTF16ToString(pe.ExeFile[:]), filepath.Base(exe)) && imageIs(pe.ProcessID, exe) {
			pids = append(pids, pe.ProcessID)
		}
		err = windows.Process32Next(snap, &pe)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return pids, nil
}

// imageIs reports whether process pid runs exe; a process that cannot be
// opened (it has just exited) does not.
func imageIs(pid uint32, exe string) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return false
	}
	return strings.EqualFold(windows.UTF16ToString(buf[:n]), exe)
}

// stopService asks the SCM to stop service name and waits, for at most
// limit, until it reports stopped. The MSI's own StopServices is not
// enough: Wine's did not stop the agent on a removal (the process outlived
// the uninstall), and this costs nothing where it works.
func stopService(name string, limit time.Duration) (string, error) {
	m, err := mgr.Connect()
	if err != nil {
		return "", fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return "service " + name + " is not installed", nil
	}
	if err != nil {
		return "", fmt.Errorf("open service %s: %w", name, err)
	}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return "", fmt.Errorf("query service %s: %w", name, err)
	}
	if st.State == svc.Stopped {
		return "service " + name + " is stopped", nil
	}
	// A service already stopping (the MSI's StopServices asked it to:
	// Wine's sends the control and does not wait) refuses another control
	// with ERROR_SERVICE_CANNOT_ACCEPT_CTRL; it is waited for like one this
	// call stopped.
	if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) && !errors.Is(err, windows.ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
		return "", fmt.Errorf("stop service %s: %w", name, err)
	}
	deadline := time.Now().Add(limit)
	for {
		st, err := s.Query()
		if err != nil || st.State == svc.Stopped {
			return "service " + name + " stopped", nil
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("service %s did not stop within %s (state %d)", name, limit, st.State), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}
