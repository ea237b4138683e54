package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/avscout/avscout/internal/agent/unit"
)

// SCM installs the service with the Windows service control manager:
// an own-process service started automatically, restarted by the SCM
// 30 s after a crash (the failure count reset daily), with an event log
// source of its name.
type SCM struct {
	Service unit.Service
	Exe     string
}

func newSCM(s unit.Service, exe string) (Manager, error) { return &SCM{Service: s, Exe: exe}, nil }

// Recovery: restart 30 s after a failure; forget failures after a day.
const (
	restartDelay = 30 * time.Second
	resetPeriod  = 24 * 60 * 60 // seconds
)

// stopWait bounds how long Stop waits for the service to stop: the agent
// itself gives a scan in flight 20 s.
const stopWait = 30 * time.Second

// Install creates the service, which must not exist, sets its recovery
// actions and registers its event log source. A service it created and
// could not finish is deleted again.
func (m *SCM) Install(context.Context) error {
	sc, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service control manager: %w", err)
	}
	defer sc.Disconnect()
	if s, err := sc.OpenService(m.Service.Name); err == nil {
		s.Close()
		return fmt.Errorf("%w: service %s exists", ErrInstalled, m.Service.Name)
	}
	s, err := sc.CreateService(m.Service.Name, m.Exe, mgr.Config{
		ServiceType: windows.SERVICE_WIN32_OWN_PROCESS,
		StartType:   mgr.StartAutomatic,
		DisplayName: m.Service.DisplayName,
		Description: m.Service.Description,
	}, m.Service.Arguments...)
	if err != nil {
		return fmt.Errorf("create service %s: %w", m.Service.Name, err)
	}
	defer s.Close()
	undo := func(err error) error {
		if derr := s.Delete(); derr != nil {
			return errors.Join(err, fmt.Errorf("delete the half-installed service %s: %w", m.Service.Name, derr))
		}
		return err
	}
	if err := SetRecovery(s); err != nil {
		return undo(err)
	}
	// A source left by an earlier install is registered anew.
	if err := removeEventSource(m.Service.Name); err != nil {
		return undo(err)
	}
	if err := eventlog.InstallAsEventCreate(m.Service.Name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		return undo(fmt.Errorf("event log source %s: %w", m.Service.Name, err))
	}
	return nil
}

// SetRecovery sets the agent service's recovery actions: restart 30 s
// after a failure, the failure count reset after a day. The MSI's setup
// helper sets the same on the service Windows Installer creates.
func SetRecovery(s *mgr.Service) error {
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: restartDelay}}, resetPeriod); err != nil {
		return fmt.Errorf("service %s: recovery actions: %w", s.Name, err)
	}
	return nil
}

// DelayStart asks the SCM to start s once boot has settled (delayed
// automatic start), through ChangeServiceConfig2 itself: mgr's
// Config/UpdateConfig fail under Wine ("Invalid level."). A system that
// refuses it still starts the service automatically, so callers report
// the refusal as a note.
func DelayStart(s *mgr.Service) error {
	info := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	return windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info)))
}

// removeEventSource removes the Application log's source name, when it
// has one.
func removeEventSource(name string) error {
	if err := eventlog.Remove(name); err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return fmt.Errorf("event log source %s: %w", name, err)
	}
	return nil
}

// Uninstall stops the service when it runs, deletes it and removes its
// event log source.
func (m *SCM) Uninstall(ctx context.Context) error {
	s, err := m.open(windows.SERVICE_QUERY_STATUS | windows.SERVICE_STOP | windows.DELETE)
	if err != nil {
		return err
	}
	defer s.Close()
	// A service that does not stop in time is deleted all the same: the
	// SCM removes it once it stops.
	stopErr := stop(ctx, s)
	if err := s.Delete(); err != nil {
		return errors.Join(stopErr, fmt.Errorf("delete service %s: %w", m.Service.Name, err))
	}
	if err := removeEventSource(m.Service.Name); err != nil {
		return errors.Join(stopErr, err)
	}
	if stopErr != nil {
		return fmt.Errorf("service %s is deleted and goes once it stops: %w", m.Service.Name, stopErr)
	}
	return nil
}

// Start implements [Manager].
func (m *SCM) Start(context.Context) error {
	s, err := m.open(windows.SERVICE_START)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		return fmt.Errorf("start service %s: %w", m.Service.Name, err)
	}
	return nil
}

// Stop asks the service to stop and waits until it has.
func (m *SCM) Stop(ctx context.Context) error {
	s, err := m.open(windows.SERVICE_STOP | windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return err
	}
	defer s.Close()
	return stop(ctx, s)
}

// Restart stops the service, waiting until it has, and starts it.
func (m *SCM) Restart(ctx context.Context) error {
	s, err := m.open(windows.SERVICE_STOP | windows.SERVICE_QUERY_STATUS | windows.SERVICE_START)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := stop(ctx, s); err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start service %s: %w", m.Service.Name, err)
	}
	return nil
}

// Status asks with query rights only, which every user has.
func (m *SCM) Status(context.Context) (Status, error) {
	s, err := m.open(windows.SERVICE_QUERY_STATUS)
	if errors.Is(err, ErrNotInstalled) {
		return NotInstalled, nil
	}
	if err != nil {
		return StatusUnknown, err
	}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return StatusUnknown, fmt.Errorf("query service %s: %w", m.Service.Name, err)
	}
	switch st.State {
	case svc.Running, svc.StartPending, svc.ContinuePending:
		return Running, nil
	}
	return Stopped, nil
}

// open opens the service with the access rights it needs (and the SCM
// with connect rights only).
func (m *SCM) open(access uint32) (*mgr.Service, error) {
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return nil, fmt.Errorf("service control manager: %w", err)
	}
	defer windows.CloseServiceHandle(h)
	name, err := windows.UTF16PtrFromString(m.Service.Name)
	if err != nil {
		return nil, err
	}
	sh, err := windows.OpenService(h, name, access)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return nil, fmt.Errorf("service %s: %w", m.Service.Name, ErrNotInstalled)
	}
	if err != nil {
		return nil, fmt.Errorf("open service %s: %w", m.Service.Name, err)
	}
	return &mgr.Service{Name: m.Service.Name, Handle: sh}, nil
}

// stop asks s to stop, unless it is stopped, and waits until it is.
func stop(ctx context.Context, s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query service %s: %w", s.Name, err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, stopWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	asked := st.State == svc.StopPending
	for {
		if !asked {
			// A service still starting cannot take the request yet
			// (ERROR_SERVICE_CANNOT_ACCEPT_CTRL): asked again next tick.
			_, err := s.Control(svc.Stop)
			switch {
			case err == nil, errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE):
				asked = true
			case !errors.Is(err, windows.ERROR_SERVICE_CANNOT_ACCEPT_CTRL):
				return fmt.Errorf("stop service %s: %w", s.Name, err)
			}
		}
		if st, err = s.Query(); err != nil {
			return fmt.Errorf("query service %s: %w", s.Name, err)
		}
		if st.State == svc.Stopped {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s did not stop: %w", s.Name, ctx.Err())
		case <-tick.C:
		}
	}
}
