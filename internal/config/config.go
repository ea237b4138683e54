// Package config is the agent's configuration: what the service reads at
// start from its config file, its environment and the settings an MDM
// (Intune, Jamf, GPO/SCCM, Ansible…) manages, merged, checked and
// explained.
//
// It exists because avscout is deployed to thousands of machines by tools
// that each configure software their own way, and a mistake there must
// surface as a clear error at start, never as an agent that silently
// stops delivering.
//
// # Settings and layers
//
// One table of settings ([Settings]) drives every layer, so that a
// setting's file key, environment variable and managed key cannot drift
// apart: collector.url in the file is AVSCOUT_COLLECTOR_URL in the
// environment and CollectorURL in managed settings. Layers apply in this
// order, each later one overriding the earlier ones setting by setting:
//
//	defaults < config file < environment < MDM-managed settings
//
// Managed settings win because they are policy: neither a local user nor
// a stale environment variable may override what the admin's MDM enforces.
// [Effective.Origin] says which layer each setting came from.
//
// In the environment and in managed settings an empty value counts as not
// set. Lists are written comma-separated there (AVSCOUT_SCAN_SOURCES=
// "dpkg,rpm"), tags as AVSCOUT_TAGS="site=berlin,dept=it"; managed tags
// come as a dictionary (plist) or as the values of a "Tags" subkey
// (registry). tags is one setting: the highest layer that sets any tag
// supplies all of them. collector.token and collector.token_file are one
// choice: a layer setting either drops the other from lower layers.
//
// Durations are Go durations ("90s", "30m", "6h"); managed integers
// (plist <integer>, REG_DWORD, REG_QWORD) given for a duration are
// seconds. Sizes accept plain bytes or units ("100MiB", "1GB").
//
// # Security
//
// The agent runs as root or SYSTEM. On Unix targets [Load] refuses a
// config file that group or others can write, or that root does not own
// when the agent runs as root, and a token file or client key that group
// or others can access. The enrollment token never appears in errors, logs
// or [Effective.Show].
//
// The package reads files only through the functions in [LoadOptions] and
// never asks the running OS what it is: the target OS is data. It does not
// act on the configuration (connect, open the log, create the state
// folder): its consumers do.
package config

import (
	"time"

	"github.com/avscout/avscout/internal/host"
)

// OS is the operating system the configuration is for: its default paths
// and the permission checks depend on it. It is [host.OS], the one OS type
// of the agent; the names here spare config's callers an import.
type OS = host.OS

// Target operating systems.
const (
	Linux   = host.Linux
	Windows = host.Windows
	Darwin  = host.Darwin
)

// isUnix reports whether o has Unix file modes and owners to check.
func isUnix(o OS) bool { return o == Linux || o == Darwin }

// BundleID is the preference domain of the macOS managed settings:
// /Library/Managed Preferences/io.avscout.agent.plist.
const BundleID = "io.avscout.agent"

// PolicyKey is the HKEY_LOCAL_MACHINE key of the Windows managed settings
// (GPO, Intune ADMX ingestion).
const PolicyKey = `SOFTWARE\Policies\avscout`

// ManagedPrefsFile is where macOS keeps the managed preferences of
// [BundleID], for [FromPlist].
const ManagedPrefsFile = "/Library/Managed Preferences/" + BundleID + ".plist"

// Config is the agent's configuration.
type Config struct {
	Collector Collector `yaml:"collector"`
	Schedule  Schedule  `yaml:"schedule"`
	Spool     Spool     `yaml:"spool"`
	Scan      Scan      `yaml:"scan"`
	Log       Log       `yaml:"log"`
	// Tags are copied into every report (site, department, …): keys of
	// [a-z0-9_.-]{1,64}, values of at most 256 characters, at most 32 tags.
	Tags map[string]string `yaml:"tags"`
	// StateDir holds state.json, spool/ and spool/deadletter.
	StateDir string `yaml:"state_dir"`
}

// Collector says where reports go and how to reach it.
type Collector struct {
	// URL is the collector's base URL; empty means no delivery (scan and
	// keep state only). https is required except for loopback hosts.
	URL string `yaml:"url"`
	// Token is the enrollment token (a secret). After [Load] it holds the
	// token read from TokenFile when that is set.
	Token string `yaml:"token"`
	// TokenFile is a file holding the token (surrounding space trimmed);
	// Token and TokenFile are exclusive.
	TokenFile string `yaml:"token_file"`
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string `yaml:"ca_file"`
	// CAPins are "sha256/<base64 SPKI hash>" pins, one of which a
	// certificate of the collector's chain must match.
	CAPins []string `yaml:"ca_pins"`
	// ClientCert and ClientKey are PEM files for mutual TLS: both or neither.
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// Proxy is the proxy URL; empty means the environment's (HTTPS_PROXY…).
	Proxy string `yaml:"proxy"`
	// Timeout bounds one delivery request.
	Timeout Duration `yaml:"timeout"`
}

// Schedule says when scans run.
type Schedule struct {
	// Interval is the time between scans, at least a minute.
	Interval Duration `yaml:"interval"`
	// Jitter is the random ± added to each interval, less than Interval.
	Jitter Duration `yaml:"jitter"`
	// Splay bounds the random delay of the first scan after start.
	Splay Duration `yaml:"splay"`
}

// Spool bounds the on-disk queue of undelivered reports.
type Spool struct {
	MaxReports int   `yaml:"max_reports"`
	MaxBytes   int64 `yaml:"max_bytes"`
}

// Scan says what a scan runs.
type Scan struct {
	// Sources restricts scans to the named sources; empty means all that
	// fit the OS. Names are checked against the sources when a scan runs.
	Sources []string `yaml:"sources"`
	// SourceTimeout bounds each source.
	SourceTimeout Duration `yaml:"source_timeout"`
	// MemoryLimit is the service's soft memory limit in bytes (its
	// GOMEMLIMIT), below the MemoryMax of its systemd unit so that the
	// garbage collector works harder before the kernel kills anything. A
	// scan whose memory passes it is stopped and fails with an error
	// saying so, instead of being killed.
	MemoryLimit int64 `yaml:"memory_limit"`
}

// Log says where the service logs.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// File is the log file; empty means stderr (the journal on Linux).
	File string `yaml:"file"`
	// MaxSizeMB is the size at which the file rotates.
	MaxSizeMB int `yaml:"max_size_mb"`
	// MaxFiles is how many files rotation keeps, the current one included.
	MaxFiles int `yaml:"max_files"`
}

// DefaultPath returns where the config file of os lives.
func DefaultPath(os OS) string {
	switch os {
	case Windows:
		return `C:\ProgramData\avscout\config.yaml`
	case Darwin:
		return "/Library/Application Support/avscout/config.yaml"
	}
	return "/etc/avscout/config.yaml"
}

// DefaultStateDir returns the default [Config.StateDir] of os.
func DefaultStateDir(os OS) string {
	switch os {
	case Windows:
		return `C:\ProgramData\avscout`
	case Darwin:
		return "/Library/Application Support/avscout"
	}
	return "/var/lib/avscout"
}

// defaultLogFile returns the default [Log.File] of os: on Linux the
// service logs to stderr, which systemd sends to the journal.
func defaultLogFile(os OS) string {
	switch os {
	case Windows:
		return `C:\ProgramData\avscout\logs\avscout.log`
	case Darwin:
		return "/Library/Logs/avscout/avscout.log"
	}
	return ""
}

// DefaultMemoryLimit is [Scan.MemoryLimit] when nothing is configured:
// 200 MiB, under the unit's MemoryMax=256M.
const DefaultMemoryLimit = 200 << 20

// Defaults returns the configuration of os when nothing is configured.
func Defaults(os OS) Config {
	return Config{
		Collector: Collector{Timeout: Duration(60 * time.Second)},
		Schedule: Schedule{
			Interval: Duration(6 * time.Hour),
			Jitter:   Duration(30 * time.Minute),
			Splay:    Duration(2 * time.Minute),
		},
		Spool:    Spool{MaxReports: 500, MaxBytes: 100 << 20},
		Scan:     Scan{SourceTimeout: Duration(30 * time.Second), MemoryLimit: DefaultMemoryLimit},
		Log:      Log{Level: "info", File: defaultLogFile(os), MaxSizeMB: 10, MaxFiles: 3},
		StateDir: DefaultStateDir(os),
	}
}
