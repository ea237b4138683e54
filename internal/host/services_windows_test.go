package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// startService starts a demand-start service and waits until the service
// control manager reports it running. Wine starts RpcSs only when something
// first needs it, so on a fresh prefix it may well be stopped.
func startService(t *testing.T, name string) {
	t.Helper()
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		t.Fatalf("open service control manager: %v", err)
	}
	defer windows.CloseServiceHandle(scm)
	h, err := windows.OpenService(scm, windows.StringToUTF16Ptr(name), windows.SERVICE_START|windows.SERVICE_QUERY_STATUS)
	if err != nil {
		t.Fatalf("open service %s: %v", name, err)
	}
	defer windows.CloseServiceHandle(h)
	if err := windows.StartService(h, 0, nil); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		t.Fatalf("start service %s: %v", name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st windows.SERVICE_STATUS
		if err := windows.QueryServiceStatus(h, &st); err != nil {
			t.Fatalf("query service %s: %v", name, err)
		}
		if st.CurrentState == windows.SERVICE_RUNNING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s still in state %d after 30 s", name, st.CurrentState)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The live SCM adapter against this machine's service control manager
// (Wine's under scripts/go_windows_amd64_exec): every service comes with a
// state, and QueryServiceConfig answers where mgr.Service.Config fails
// under Wine.
func TestLiveServices(t *testing.T) {
	ctx := context.Background()
	startService(t, "RpcSs")
	svcs, err := newLiveServices().Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) == 0 {
		t.Fatal("no services")
	}
	var rpc *Service
	for i, s := range svcs {
		if s.Name == "" || s.State == StateUnknown {
			t.Errorf("service %+v: want a name and a state", s)
		}
		if strings.EqualFold(s.Name, "RpcSs") {
			rpc = &svcs[i]
		}
	}
	if rpc == nil {
		t.Fatalf("RpcSs not listed among %d services", len(svcs))
	}
	if rpc.State != StateRunning || rpc.Type != TypeService {
		t.Errorf("RpcSs: %+v", rpc)
	}
	cfg, err := newLiveServices().Config(ctx, rpc.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(cfg.ImagePath), "rpcss") && !strings.Contains(strings.ToLower(cfg.ImagePath), "svchost") || cfg.StartType == "" {
		t.Errorf("RpcSs config: %+v", cfg)
	}
	if _, err := newLiveServices().Config(ctx, "avscout-no-such-service"); err == nil {
		t.Error("a missing service has a config")
	}
	// Describe reads the Windows version and machine GUID from the registry.
	h, err := Live("")
	if err != nil {
		t.Fatal(err)
	}
	info := h.Describe()
	if info.OS != Windows || !strings.Contains(info.OSVersion, "Windows") || info.ID == StableID("", info.Hostname) {
		t.Errorf("Describe = %+v", info)
	}
}
