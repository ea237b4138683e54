package host

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// liveServices asks this machine's service control manager.
type liveServices struct{}

func newLiveServices() ServiceLister { return liveServices{} }

// maxEnumBuffer bounds the buffer EnumServicesStatusEx may ask for; a few
// hundred services take well under 1 MiB.
const maxEnumBuffer = 32 << 20

func openSCM() (windows.Handle, error) {
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return 0, fmt.Errorf("open service control manager: %w", err)
	}
	return scm, nil
}

// Services lists every service and driver with EnumServicesStatusEx.
func (liveServices) Services(ctx context.Context) ([]Service, error) {
	scm, err := openSCM()
	if err != nil {
		return nil, err
	}
	defer windows.CloseServiceHandle(scm)

	var (
		buf              []byte
		needed, returned uint32
	)
	for {
		var p *byte
		if len(buf) > 0 {
			p = &buf[0]
		}
		err = windows.EnumServicesStatusEx(scm, windows.SC_ENUM_PROCESS_INFO,
			windows.SERVICE_WIN32|windows.SERVICE_DRIVER, windows.SERVICE_STATE_ALL,
			p, uint32(len(buf)), &needed, &returned, nil, nil)
		if err == nil {
			break
		}
		if !errors.Is(err, windows.ERROR_MORE_DATA) || needed <= uint32(len(buf)) || needed > maxEnumBuffer {
			return nil, fmt.Errorf("list services: %w", err)
		}
		buf = make([]byte, needed)
	}
	if returned == 0 {
		return nil, nil
	}
	entries := unsafe.Slice((*windows.ENUM_SERVICE_STATUS_PROCESS)(unsafe.Pointer(&buf[0])), int(returned))
	out := make([]Service, 0, len(entries))
	for _, e := range entries {
		out = append(out, Service{
			Name:        windows.UTF16PtrToString(e.ServiceName),
			DisplayName: windows.UTF16PtrToString(e.DisplayName),
			RawType:     e.ServiceStatusProcess.ServiceType,
			Type:        ServiceTypeOf(e.ServiceStatusProcess.ServiceType),
			State:       ServiceStateOf(e.ServiceStatusProcess.CurrentState),
		})
	}
	return out, ctx.Err()
}

// Config calls QueryServiceConfig directly: mgr.Service.Config also asks
// QueryServiceConfig2 for levels Wine rejects ("Invalid level."), and then
// fails as a whole.
func (liveServices) Config(ctx context.Context, name string) (Service, error) {
	s := Service{Name: name}
	scm, err := openSCM()
	if err != nil {
		return s, err
	}
	defer windows.CloseServiceHandle(scm)
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return s, fmt.Errorf("service %q: %w", name, err)
	}
	h, err := windows.OpenService(scm, n, windows.SERVICE_QUERY_CONFIG)
	if err != nil {
		return s, fmt.Errorf("service %s: open: %w", name, err)
	}
	defer windows.CloseServiceHandle(h)
	buf := make([]byte, 4<<10)
	for range 3 {
		var needed uint32
		cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
		err = windows.QueryServiceConfig(h, cfg, uint32(len(buf)), &needed)
		if err == nil {
			s.ImagePath = windows.UTF16PtrToString(cfg.BinaryPathName)
			s.StartType = StartTypeOf(cfg.StartType)
			s.RawType = cfg.ServiceType
			s.Type = ServiceTypeOf(cfg.ServiceType)
			s.DisplayName = windows.UTF16PtrToString(cfg.DisplayName)
			return s, ctx.Err()
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || needed > 1<<20 {
			break
		}
		buf = make([]byte, needed)
	}
	return s, fmt.Errorf("service %s: query config: %w", name, err)
}
