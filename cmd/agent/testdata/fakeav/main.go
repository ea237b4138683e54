// Command fakeav stands in for a security product's executable in the
// Wine end-to-end tests: copied to avp.exe, klnagent.exe … it runs until
// killed, as a process or, given -service NAME, as a Windows service the
// service control manager can start. With -ready FILE it creates FILE once
// running, so the test knows when to scan. Test-only, never shipped.
package main

import (
	"flag"
	"os"
	"time"

	"golang.org/x/sys/windows/svc"
)

func main() {
	service := flag.String("service", "", "run as the Windows service `NAME`")
	ready := flag.String("ready", "", "create `FILE` once running")
	flag.Parse()
	if *ready != "" {
		os.WriteFile(*ready, nil, 0o644)
	}
	if *service != "" {
		svc.Run(*service, handler{})
		return
	}
	time.Sleep(time.Hour)
}

type handler struct{}

func (handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for r := range req {
		switch r.Cmd {
		case svc.Interrogate:
			status <- r.CurrentStatus
		case svc.Stop, svc.Shutdown:
			status <- svc.Status{State: svc.StopPending}
			return false, 0
		}
	}
	return false, 0
}
