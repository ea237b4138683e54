package host

import (
	"context"
	"strings"
	"testing"
)

// The live SCM adapter against this machine's service control manager
// (Wine's under scripts/go_windows_amd64_exec): every service comes with a
// state, and QueryServiceConfig answers where mgr.Service.Config fails
// under Wine.
func TestLiveServices(t *testing.T) {
	ctx := context.Background()
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
