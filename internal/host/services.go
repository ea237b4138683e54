package host

import "context"

// Service is one entry of the Windows service control manager: a service
// or a kernel driver.
type Service struct {
	Name        string // the key name (AVP, klif)
	DisplayName string
	// ImagePath is the command line as configured (BinaryPathName): quoted
	// or not, with arguments, possibly \SystemRoot\-relative.
	ImagePath string
	Type      ServiceType
	// RawType is the SERVICE_* type bits (0x1 kernel driver, 0x2 file
	// system driver, 0x10 own process, 0x20 shared process …).
	RawType   uint32
	StartType StartType
	State     ServiceState
}

// ServiceType says whether an entry is a service or a driver.
type ServiceType string

// Service types.
const (
	TypeService ServiceType = "service"
	TypeDriver  ServiceType = "driver"
)

// ServiceTypeOf classifies SERVICE_* type bits: kernel (0x1), file system
// (0x2) and recognizer (0x8) drivers are drivers, the rest services.
func ServiceTypeOf(bits uint32) ServiceType {
	if bits&0xb != 0 {
		return TypeDriver
	}
	return TypeService
}

// StartType is when a service starts.
type StartType string

// Start types, as the registry's Start value numbers them 0 to 4.
const (
	StartBoot     StartType = "boot"
	StartSystem   StartType = "system"
	StartAuto     StartType = "auto"
	StartManual   StartType = "manual"
	StartDisabled StartType = "disabled"
)

// StartTypeOf names a Start value; unknown values give "".
func StartTypeOf(n uint32) StartType {
	switch n {
	case 0:
		return StartBoot
	case 1:
		return StartSystem
	case 2:
		return StartAuto
	case 3:
		return StartManual
	case 4:
		return StartDisabled
	}
	return ""
}

// ServiceState is what a service is doing now.
type ServiceState string

// Service states; "" when unknown (read from the registry only).
const (
	StateStopped ServiceState = "stopped"
	StateRunning ServiceState = "running"
	StatePaused  ServiceState = "paused"
	StatePending ServiceState = "pending" // starting, stopping, pausing or resuming
	StateUnknown ServiceState = ""
)

// ServiceStateOf names a SERVICE_* current state (1 stopped … 7 paused).
func ServiceStateOf(n uint32) ServiceState {
	switch n {
	case 1:
		return StateStopped
	case 4:
		return StateRunning
	case 7:
		return StatePaused
	case 2, 3, 5, 6:
		return StatePending
	}
	return StateUnknown
}

// ServiceLister asks the service control manager of a live Windows host.
type ServiceLister interface {
	// Services lists every service and driver with its type, display name
	// and state, in one call. ImagePath and StartType are left for Config,
	// since the registry's Services key holds them for nearly every
	// service at a fraction of the cost.
	Services(ctx context.Context) ([]Service, error)
	// Config returns the configuration of one service: its image path,
	// start type, type and display name.
	Config(ctx context.Context, name string) (Service, error)
}
