package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sys/windows/svc"
)

// stopTimeout bounds how long a stop waits for a scan or a send in flight
// (systemd and launchd wait 30 s).
const stopTimeout = 20 * time.Second

// isWindowsService reports whether the SCM started this process. Wine's
// SCM is not detected this way, hence `service run --scm`.
func isWindowsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

// runUnderSCM runs loop as a Windows service: it reports running at once,
// and on Stop or Shutdown cancels loop and reports stopped when it has
// returned (or after stopTimeout).
func runUnderSCM(name string, loop func(context.Context) error, logger *slog.Logger) error {
	if err := svc.Run(name, &scmHandler{loop: loop, logger: logger}); err != nil {
		return fmt.Errorf("run as service %s: %w", name, err)
	}
	return nil
}

type scmHandler struct {
	loop   func(context.Context) error
	logger *slog.Logger
}

// Execute implements svc.Handler.
func (h *scmHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.loop(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	h.logger.Info("avscout service running under the service manager")
	for {
		select {
		case err := <-done:
			// The loop ends by itself only on a fatal error: exit with a
			// service-specific code so the recovery actions restart it.
			h.logger.Error("service loop ended", "err", err)
			status <- svc.Status{State: svc.StopPending}
			return true, 1
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopTimeout / time.Millisecond)}
				cancel()
				select {
				case err := <-done:
					if err != nil {
						h.logger.Error("service loop stopped with an error", "err", err)
					}
				case <-time.After(stopTimeout):
					h.logger.Warn("service loop did not stop in time", "timeout", stopTimeout)
				}
				h.logger.Info("avscout service stopped")
				return false, 0
			}
		}
	}
}
