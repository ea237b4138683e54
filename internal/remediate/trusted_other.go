//go:build !windows

package remediate

// ProgramCheck returns nil off Windows: the uninstall programs it checks
// are Windows ones, and --execute runs on the target itself.
func ProgramCheck() func(string) error { return nil }

// PrepareLogDir returns nil off Windows: only msiexec writes a log.
func PrepareLogDir() func(string) error { return nil }
