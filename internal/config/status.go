package config

import "time"

// StaleAfter is the age beyond which the service's last scan is stale:
// two missed scans, with the schedule's jitter and first-scan splay as
// slack (12h32m with the defaults). The service publishes it with its
// status and `avscout status` judges the last scan by it.
func (s Schedule) StaleAfter() time.Duration {
	return 2*time.Duration(s.Interval) + time.Duration(s.Jitter) + time.Duration(s.Splay)
}

// PublicStatusFile is where the Linux service publishes its
// world-readable status summary, for `avscout status --public`: a fixed
// path, because the unprivileged caller cannot read the config that may
// move the state directory. It is on /run (systemd's
// RuntimeDirectory=avscout): it exists while the service runs, which is
// what the check wants to know. Other OSes run their MDM checks as SYSTEM
// or root and read the state file itself, and get "".
func PublicStatusFile(goos string) string {
	if goos == "linux" {
		return "/run/avscout/status.json"
	}
	return ""
}
