package agent

// LowerPriority makes this process yield CPU and disk to everything else on
// the machine: the service scans in the background of a user's work. The
// service manager's unit also asks for it (Nice=, IOSchedulingClass= on
// systemd; ProcessType=Background on launchd); this covers foreground runs
// and managers that do not.
func LowerPriority() error { return lowerPriority() }
