// Package unit describes the agent's service to the OS's service managers:
// its name, arguments and description, the systemd unit and launchd plist
// it installs (restart on failure, a memory ceiling, background priority
// and sandboxing), and where those files live.
//
// It exists so that `avscout service install` (internal/agent/svcmgr)
// and `avscout service unit` (for the .deb, .rpm and macOS .pkg,
// which install the file themselves) use one template and one rendering,
// and so that rendering is tested from data without installing anything.
// It is pure: it reads and writes no files.
package unit

import (
	_ "embed"
	"fmt"
)

// The unit files `avscout service install` writes.
var (
	//go:embed templates/avscout.service
	systemdTemplate string
	//go:embed templates/avscout.plist
	launchdTemplate string
)

// Init is a service manager whose unit file the agent renders.
type Init string

// The service managers with a unit file. (Windows keeps its services in
// the SCM, which needs none.)
const (
	Systemd Init = "systemd"
	Launchd Init = "launchd"
)

// ParseInit returns the Init named s.
func ParseInit(s string) (Init, error) {
	switch i := Init(s); i {
	case Systemd, Launchd:
		return i, nil
	}
	return "", fmt.Errorf("init system %q: want systemd or launchd", s)
}

// GOOS is the OS whose service this Init runs.
func (i Init) GOOS() string {
	if i == Launchd {
		return "darwin"
	}
	return "linux"
}

// Template is the unit file's template, in the language [Render]
// renders.
func (i Init) Template() string {
	if i == Launchd {
		return launchdTemplate
	}
	return systemdTemplate
}

// Service is how a service manager knows the agent.
type Service struct {
	Name        string
	DisplayName string
	Description string
	// Arguments follow the binary's path on the service's command line.
	Arguments []string
}

// Name is the name the service manager on goos knows the agent by.
func Name(goos string) string {
	if goos == "darwin" {
		return "io.avscout.agent" // launchd labels are reverse-DNS
	}
	return "avscout"
}

// For describes the agent's service on goos, reading configPath (empty:
// the OS's standard path). The service runs `avscout service run`; on
// Windows with --scm, which tells it the SCM started it (Wine's SCM does
// not make that detectable).
func For(goos, configPath string) Service {
	args := []string{"service", "run"}
	if configPath != "" {
		args = append(args, "--config", configPath)
	}
	if goos == "windows" {
		args = append(args, "--scm")
	}
	return Service{
		Name:        Name(goos),
		DisplayName: "avscout endpoint agent",
		Description: "Finds antivirus and endpoint-security software, flags restricted (Kaspersky) products and reports to the fleet collector.",
		Arguments:   args,
	}
}

// Render returns the unit file of s for init, running the binary at path
// (absolute), as `avscout service install` would write it.
func Render(init Init, s Service, path string) (string, error) {
	if _, err := ParseInit(string(init)); err != nil {
		return "", err
	}
	out, err := render(init.Template(), map[string]any{
		"Name":        s.Name,
		"Description": s.Description,
		"Path":        path,
		"Arguments":   s.Arguments,
		"EnvVars":     []string(nil),
	})
	if err != nil {
		return "", fmt.Errorf("render %s unit: %w", init, err)
	}
	return out, nil
}

// Paths are where the service named name may have its unit file on goos:
// where `avscout service install` writes it, and on Linux where the
// service library earlier versions used put its init script on machines
// without systemd (System V, OpenRC, Upstart). Windows keeps its services
// in the SCM, which says itself when one is not installed: nil.
func Paths(goos, name string) []string {
	switch goos {
	case "linux":
		return []string{
			"/etc/systemd/system/" + name + ".service", // systemd
			"/etc/init.d/" + name,                      // System V, OpenRC
			"/etc/init/" + name + ".conf",              // Upstart
		}
	case "darwin":
		return []string{"/Library/LaunchDaemons/" + name + ".plist"}
	}
	return nil
}
