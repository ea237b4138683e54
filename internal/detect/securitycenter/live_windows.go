package securitycenter

import (
	"context"
	"fmt"

	"github.com/yusufpapurcu/wmi"
	"golang.org/x/sys/windows"

	"github.com/avscout/avscout/internal/detect"
)

// NewLive returns the source for this machine's Security Center, read
// through WMI.
func NewLive() detect.Source { return New(liveQuerier{}) }

// antiVirusProduct is the WMI row; the wmi package matches fields to
// properties by name, case-insensitively.
type antiVirusProduct struct {
	DisplayName              string
	InstanceGuid             string
	PathToSignedProductExe   string
	PathToSignedReportingExe string
	ProductState             uint32
	Timestamp                string
}

// liveQuerier queries root\SecurityCenter2 through WMI's scripting API.
type liveQuerier struct{}

func (liveQuerier) AntiVirusProducts(ctx context.Context) ([]Product, error) {
	if isWine() {
		return nil, fmt.Errorf("no WMI Security Center under Wine: %w", detect.ErrUnavailable)
	}
	if isServer() {
		return nil, fmt.Errorf("no Security Center on Windows Server: %w", detect.ErrUnavailable)
	}
	var rows []antiVirusProduct
	c := wmi.Client{NonePtrZero: true, AllowMissingFields: true}
	// The server argument must be given: a nil one is a type mismatch for
	// some WMI implementations.
	err := c.Query("SELECT * FROM AntiVirusProduct", &rows, ".", `root\SecurityCenter2`)
	if err != nil {
		if isInvalidNamespace(err) {
			return nil, fmt.Errorf("root\\SecurityCenter2 does not exist (a server edition): %w", detect.ErrUnavailable)
		}
		return nil, fmt.Errorf("query root\\SecurityCenter2: %w", err)
	}
	out := make([]Product, len(rows))
	for i, r := range rows {
		out[i] = Product{
			DisplayName:              r.DisplayName,
			InstanceGUID:             r.InstanceGuid,
			PathToSignedProductExe:   r.PathToSignedProductExe,
			PathToSignedReportingExe: r.PathToSignedReportingExe,
			ProductState:             r.ProductState,
			Timestamp:                r.Timestamp,
		}
	}
	return out, nil
}

// isWine reports whether this process runs under Wine, whose ntdll
// exports wine_get_version.
func isWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// isServer reports whether this is a server edition of Windows, which has
// no Security Center.
func isServer() bool {
	const verNTWorkstation = 1
	v := windows.RtlGetVersion()
	return v != nil && v.ProductType != verNTWorkstation
}
