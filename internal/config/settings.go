package config

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/avscout/avscout/internal/text"
)

// Kind is how a setting's value is written.
type Kind string

// Setting kinds.
const (
	KindString   Kind = "string"
	KindPath     Kind = "path"     // an absolute path of the target OS
	KindDuration Kind = "duration" // a Go duration; managed integers are seconds
	KindInt      Kind = "int"
	KindSize     Kind = "size" // bytes, "100MiB"
	KindList     Kind = "list" // YAML sequence; comma-separated elsewhere
	KindTags     Kind = "tags" // YAML mapping; "k=v,k=v" in the environment
)

// Setting describes one setting in every layer.
type Setting struct {
	Name    string // key in the config file, dotted: "collector.url"
	Env     string // environment variable: "AVSCOUT_COLLECTOR_URL"
	Managed string // managed key (plist key, registry value): "CollectorURL"
	Kind    Kind
	Secret  bool   // never shown, logged or put into errors
	Help    string // one line for docs and ADMX/profile generators
}

// setting is a [Setting] with what the code needs to read, store and
// check it.
type setting struct {
	Setting
	// field returns a pointer to the setting's field: *string, *Duration,
	// *int, *int64, *[]string or *map[string]string as the kind says.
	field func(*Config) any
	// check validates the value on its own; it returns a message without
	// the setting's name and never quotes a secret value.
	check func(v any, os OS) error
	// redact hides parts of a value that must not be shown (a proxy
	// password); nil shows it as it is (or hides all of it when Secret).
	redact func(string) string
	// norm canonicalizes a text value before it is checked ("INFO" → "info").
	norm func(string) string
}

// table is every setting, in the order of the file and of Show. It is the
// one place a setting's names in the three layers are defined.
var table = []setting{
	{Setting: Setting{Name: "collector.url", Env: "AVSCOUT_COLLECTOR_URL", Managed: "CollectorURL", Kind: KindString,
		Help: "Collector base URL; empty: no delivery. https required except for loopback hosts."},
		field: func(c *Config) any { return &c.Collector.URL }, check: checkCollectorURL},
	{Setting: Setting{Name: "collector.token", Env: "AVSCOUT_COLLECTOR_TOKEN", Managed: "CollectorToken", Kind: KindString, Secret: true,
		Help: "Enrollment token (secret); exclusive with collector.token_file."},
		field: func(c *Config) any { return &c.Collector.Token }, check: checkToken},
	{Setting: Setting{Name: "collector.token_file", Env: "AVSCOUT_COLLECTOR_TOKEN_FILE", Managed: "CollectorTokenFile", Kind: KindPath,
		Help: "File holding the enrollment token, mode 0600."},
		field: func(c *Config) any { return &c.Collector.TokenFile }, check: checkPath(false)},
	{Setting: Setting{Name: "collector.ca_file", Env: "AVSCOUT_COLLECTOR_CA_FILE", Managed: "CollectorCAFile", Kind: KindPath,
		Help: "PEM bundle of CAs to trust instead of the system's."},
		field: func(c *Config) any { return &c.Collector.CAFile }, check: checkPath(false)},
	{Setting: Setting{Name: "collector.ca_pins", Env: "AVSCOUT_COLLECTOR_CA_PINS", Managed: "CollectorCAPins", Kind: KindList,
		Help: `Pins "sha256/<base64 SPKI hash>"; one must match the collector's chain.`},
		field: func(c *Config) any { return &c.Collector.CAPins }, check: checkPins},
	{Setting: Setting{Name: "collector.client_cert", Env: "AVSCOUT_COLLECTOR_CLIENT_CERT", Managed: "CollectorClientCert", Kind: KindPath,
		Help: "PEM client certificate for mutual TLS; needs collector.client_key."},
		field: func(c *Config) any { return &c.Collector.ClientCert }, check: checkPath(false)},
	{Setting: Setting{Name: "collector.client_key", Env: "AVSCOUT_COLLECTOR_CLIENT_KEY", Managed: "CollectorClientKey", Kind: KindPath,
		Help: "PEM private key of the client certificate, mode 0600."},
		field: func(c *Config) any { return &c.Collector.ClientKey }, check: checkPath(false)},
	{Setting: Setting{Name: "collector.proxy", Env: "AVSCOUT_COLLECTOR_PROXY", Managed: "CollectorProxy", Kind: KindString,
		Help: "Proxy URL (http, https, socks5); empty: HTTPS_PROXY and friends."},
		field: func(c *Config) any { return &c.Collector.Proxy }, check: checkProxy, redact: redactURL},
	{Setting: Setting{Name: "collector.timeout", Env: "AVSCOUT_COLLECTOR_TIMEOUT", Managed: "CollectorTimeout", Kind: KindDuration,
		Help: "Timeout of one delivery request."},
		field: func(c *Config) any { return &c.Collector.Timeout }, check: checkDuration(time.Second, time.Hour)},
	{Setting: Setting{Name: "schedule.interval", Env: "AVSCOUT_SCHEDULE_INTERVAL", Managed: "ScheduleInterval", Kind: KindDuration,
		Help: "Time between scans."},
		field: func(c *Config) any { return &c.Schedule.Interval }, check: checkDuration(time.Minute, 30*24*time.Hour)},
	{Setting: Setting{Name: "schedule.jitter", Env: "AVSCOUT_SCHEDULE_JITTER", Managed: "ScheduleJitter", Kind: KindDuration,
		Help: "Random ± added to each interval; less than schedule.interval."},
		field: func(c *Config) any { return &c.Schedule.Jitter }, check: checkDuration(0, 30*24*time.Hour)},
	{Setting: Setting{Name: "schedule.splay", Env: "AVSCOUT_SCHEDULE_SPLAY", Managed: "ScheduleSplay", Kind: KindDuration,
		Help: "The first scan after start runs at a random time within this."},
		field: func(c *Config) any { return &c.Schedule.Splay }, check: checkDuration(0, 24*time.Hour)},
	{Setting: Setting{Name: "spool.max_reports", Env: "AVSCOUT_SPOOL_MAX_REPORTS", Managed: "SpoolMaxReports", Kind: KindInt,
		Help: "Undelivered reports kept; the oldest is dropped beyond."},
		field: func(c *Config) any { return &c.Spool.MaxReports }, check: checkInt(1, 100_000)},
	{Setting: Setting{Name: "spool.max_bytes", Env: "AVSCOUT_SPOOL_MAX_BYTES", Managed: "SpoolMaxBytes", Kind: KindSize,
		Help: `Size of the spool ("100MiB"); the oldest reports are dropped beyond.`},
		field: func(c *Config) any { return &c.Spool.MaxBytes }, check: checkSize(1<<20, 1<<40)},
	{Setting: Setting{Name: "scan.sources", Env: "AVSCOUT_SCAN_SOURCES", Managed: "ScanSources", Kind: KindList,
		Help: "Sources to run; empty: all that fit the OS."},
		field: func(c *Config) any { return &c.Scan.Sources }, check: checkSources},
	{Setting: Setting{Name: "scan.source_timeout", Env: "AVSCOUT_SCAN_SOURCE_TIMEOUT", Managed: "ScanSourceTimeout", Kind: KindDuration,
		Help: "Time limit of each source."},
		field: func(c *Config) any { return &c.Scan.SourceTimeout }, check: checkDuration(time.Second, time.Hour)},
	{Setting: Setting{Name: "scan.memory_limit", Env: "AVSCOUT_SCAN_MEMORY_LIMIT", Managed: "ScanMemoryLimit", Kind: KindSize,
		Help: `Soft memory limit of the service (GOMEMLIMIT), under its unit's MemoryMax; a scan that would pass it stops with an error.`},
		field: func(c *Config) any { return &c.Scan.MemoryLimit }, check: checkSize(32<<20, 64<<30)},
	{Setting: Setting{Name: "log.level", Env: "AVSCOUT_LOG_LEVEL", Managed: "LogLevel", Kind: KindString,
		Help: "debug, info, warn or error."},
		field: func(c *Config) any { return &c.Log.Level }, check: checkLevel,
		norm: strings.ToLower},
	{Setting: Setting{Name: "log.file", Env: "AVSCOUT_LOG_FILE", Managed: "LogFile", Kind: KindPath,
		Help: "Log file; empty: stderr (the journal on Linux)."},
		field: func(c *Config) any { return &c.Log.File }, check: checkPath(false)},
	{Setting: Setting{Name: "log.max_size_mb", Env: "AVSCOUT_LOG_MAX_SIZE_MB", Managed: "LogMaxSizeMB", Kind: KindInt,
		Help: "Size in MiB at which the log file rotates."},
		field: func(c *Config) any { return &c.Log.MaxSizeMB }, check: checkInt(1, 1024)},
	{Setting: Setting{Name: "log.max_files", Env: "AVSCOUT_LOG_MAX_FILES", Managed: "LogMaxFiles", Kind: KindInt,
		Help: "Log files kept by rotation, the current one included."},
		field: func(c *Config) any { return &c.Log.MaxFiles }, check: checkInt(1, 100)},
	{Setting: Setting{Name: "tags", Env: "AVSCOUT_TAGS", Managed: "Tags", Kind: KindTags,
		Help: "Tags copied into every report (site, department…)."},
		field: func(c *Config) any { return &c.Tags }, check: checkTags},
	{Setting: Setting{Name: "state_dir", Env: "AVSCOUT_STATE_DIR", Managed: "StateDir", Kind: KindPath,
		Help: "Folder of state.json and the spool."},
		field: func(c *Config) any { return &c.StateDir }, check: checkPath(true)},
}

// Settings returns a description of every setting, in file order.
func Settings() []Setting {
	out := make([]Setting, len(table))
	for i, s := range table {
		out[i] = s.Setting
	}
	return out
}

// lookup finds a setting by its file name.
func lookup(name string) *setting {
	for i := range table {
		if table[i].Name == name {
			return &table[i]
		}
	}
	return nil
}

// lookupManaged finds a setting by its managed key, ignoring case as the
// registry does.
func lookupManaged(key string) *setting {
	for i := range table {
		if strings.EqualFold(table[i].Managed, key) {
			return &table[i]
		}
	}
	return nil
}

// show returns how a value may be shown: secrets hidden.
func (s *setting) show(v string) string {
	switch {
	case s.Secret:
		return redacted
	case s.redact != nil:
		return s.redact(v)
	}
	return v
}

// redacted stands for a secret in output.
const redacted = "<redacted>"

// parse reads a value written as text (a scalar in the file, the
// environment, managed settings) as the setting's kind.
func (s *setting) parse(raw string) (any, error) {
	switch s.Kind {
	case KindString, KindPath:
		raw = strings.TrimSpace(raw)
		if s.norm != nil {
			raw = s.norm(raw)
		}
		return raw, nil
	case KindDuration:
		return ParseDuration(raw)
	case KindInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", raw)
		}
		return n, nil
	case KindSize:
		return ParseSize(raw)
	case KindList:
		return text.SplitList(raw), nil
	case KindTags:
		return ParseTags(raw)
	}
	return nil, fmt.Errorf("unknown kind %q", s.Kind)
}

// set stores v, of the type parse returns, in c.
func (s *setting) set(c *Config, v any) {
	switch p := s.field(c).(type) {
	case *string:
		*p = v.(string)
	case *Duration:
		*p = v.(Duration)
	case *int:
		*p = v.(int)
	case *int64:
		*p = v.(int64)
	case *[]string: // empty is nil, as in Defaults
		*p = nil
		if l := v.([]string); len(l) > 0 {
			*p = slices.Clone(l)
		}
	case *map[string]string:
		*p = nil
		if m := v.(map[string]string); len(m) > 0 {
			*p = maps.Clone(m)
		}
	}
}

// get returns the value of the setting in c.
func (s *setting) get(c *Config) any {
	switch p := s.field(c).(type) {
	case *string:
		return *p
	case *Duration:
		return *p
	case *int:
		return *p
	case *int64:
		return *p
	case *[]string:
		return *p
	case *map[string]string:
		return *p
	}
	return nil
}

// format writes a scalar value as text that parse reads back.
func (s *setting) format(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case Duration:
		return v.String()
	case int:
		return strconv.Itoa(v)
	case int64:
		if s.Kind == KindSize {
			return FormatSize(v)
		}
		return strconv.FormatInt(v, 10)
	case []string:
		return strings.Join(v, ",")
	}
	return fmt.Sprint(v)
}

// parseTags reads "key=value,key=value". Values cannot hold commas here;
// the file and managed dictionaries can.
func ParseTags(s string) (map[string]string, error) {
	m := map[string]string{}
	for i, e := range strings.Split(s, ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		k, v, ok := strings.Cut(e, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %d %q is not key=value", i+1, e)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("tag %q given twice", k)
		}
		m[k] = strings.TrimSpace(v)
	}
	return m, nil
}

// Limits of tags.
const (
	maxTags        = 32
	maxTagValueLen = 256
)

// validTagKey reports whether k is 1 to 64 of a-z 0-9 _ . -. (A
// function, not a regexp: a compiled `{1,64}` cost every start 0.5 ms.)
func validTagKey(k string) bool {
	return validName(k, 64, "_.-")
}

// validName reports whether s is 1 to max bytes of a-z, 0-9 and the bytes
// of extra.
func validName(s string, max int, extra string) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

func checkTags(v any, _ OS) error {
	m := v.(map[string]string)
	if len(m) > maxTags {
		return fmt.Errorf("%d tags: at most %d are allowed", len(m), maxTags)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !validTagKey(k) {
			return fmt.Errorf("tag key %q: use 1 to 64 of a-z 0-9 _ . -", k)
		}
		val := m[k]
		if !utf8.ValidString(val) {
			return fmt.Errorf("tag %q: value is not valid UTF-8", k)
		}
		if n := utf8.RuneCountInString(val); n > maxTagValueLen {
			return fmt.Errorf("tag %q: value of %d characters is longer than %d", k, n, maxTagValueLen)
		}
		if strings.IndexFunc(val, unicode.IsControl) >= 0 {
			return fmt.Errorf("tag %q: value holds a control character", k)
		}
	}
	return nil
}

func checkDuration(lo, hi time.Duration) func(any, OS) error {
	return func(v any, _ OS) error {
		d := v.(Duration)
		switch {
		case time.Duration(d) < lo:
			if lo == 0 {
				return fmt.Errorf("%q is negative", d)
			}
			return fmt.Errorf("%q is below the minimum %s", d, Duration(lo))
		case time.Duration(d) > hi:
			return fmt.Errorf("%q is above the maximum %s", d, Duration(hi))
		}
		return nil
	}
}

func checkInt(lo, hi int) func(any, OS) error {
	return func(v any, _ OS) error {
		n := v.(int)
		if n < lo || n > hi {
			return fmt.Errorf("%d is outside %d…%d", n, lo, hi)
		}
		return nil
	}
}

func checkSize(lo, hi int64) func(any, OS) error {
	return func(v any, _ OS) error {
		n := v.(int64)
		if n < lo || n > hi {
			return fmt.Errorf("%s is outside %s…%s", FormatSize(n), FormatSize(lo), FormatSize(hi))
		}
		return nil
	}
}

// checkPath accepts an absolute path of the target OS, or "" unless
// required.
func checkPath(required bool) func(any, OS) error {
	return func(v any, os OS) error {
		p := v.(string)
		switch {
		case p == "" && required:
			return fmt.Errorf("must be set")
		case p == "":
			return nil
		case strings.ContainsRune(p, 0):
			return fmt.Errorf("%q holds a NUL character", p)
		case !isAbs(os, p):
			return fmt.Errorf("%q is not an absolute %s path", p, os)
		}
		return nil
	}
}

// isAbs reports whether p is absolute on os: /… on Unix, C:\… or \\server\…
// on Windows.
func isAbs(os OS, p string) bool {
	if os != Windows {
		return strings.HasPrefix(p, "/")
	}
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		c := p[0] | 0x20
		return c >= 'a' && c <= 'z'
	}
	return strings.HasPrefix(p, `\\`) && len(p) > 2
}

func checkCollectorURL(v any, _ OS) error {
	s := v.(string)
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URL (write e.g. https://avscout.example.com)", redactURL(s))
	}
	if u.User != nil {
		return fmt.Errorf("the URL must not hold credentials; use collector.token or collector.token_file")
	}
	if u.Fragment != "" || u.RawQuery != "" {
		return fmt.Errorf("%q: the URL must not have a query or fragment", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q uses http: https is required except for loopback hosts (localhost, 127.0.0.1, ::1)", s)
		}
	default:
		return fmt.Errorf("%q: the scheme must be https", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %q is out of range", s, p)
		}
	}
	return nil
}

// isLoopback reports whether host names this machine over loopback.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkProxy(v any, _ OS) error {
	s := v.(string)
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a proxy URL (write e.g. http://proxy.example.com:3128)", redactURL(s))
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "socks5", "socks5h":
	default:
		return fmt.Errorf("%q: the scheme must be http, https or socks5", redactURL(s))
	}
	return nil
}

// redactURL hides the password of a URL; text that does not parse is
// hidden whole, as it may be a mistyped URL with a password.
func redactURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return redacted
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
		return strings.Replace(u.String(), ":REDACTED@", ":"+redacted+"@", 1)
	}
	return s
}

// Tokens go into an HTTP header: visible ASCII only.
const maxTokenLen = 4096

func checkToken(v any, _ OS) error {
	s := v.(string)
	if len(s) > maxTokenLen {
		return fmt.Errorf("the token is longer than %d characters", maxTokenLen)
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("the token holds a character other than visible ASCII (space, control or non-ASCII)")
		}
	}
	return nil
}

// pinPrefix starts every CA pin.
const pinPrefix = "sha256/"

func checkPins(v any, _ OS) error {
	for i, p := range v.([]string) {
		h, ok := strings.CutPrefix(p, pinPrefix)
		if !ok {
			return fmt.Errorf("pin %d %q must start with %q", i+1, p, pinPrefix)
		}
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("pin %d %q: want the base64 of a 32-byte SHA-256 hash", i+1, p)
		}
	}
	return nil
}

func checkSources(v any, _ OS) error {
	seen := map[string]bool{}
	for _, s := range v.([]string) {
		if !validName(s, 32, "-") {
			return fmt.Errorf("source %q: names are 1 to 32 of a-z 0-9 -", s)
		}
		if seen[s] {
			return fmt.Errorf("source %q given twice", s)
		}
		seen[s] = true
	}
	return nil
}

// levels are the log levels, as log/slog names them.
var levels = []string{"debug", "info", "warn", "error"}

func checkLevel(v any, _ OS) error {
	if !slices.Contains(levels, v.(string)) {
		return fmt.Errorf("%q is not one of %s", v, strings.Join(levels, ", "))
	}
	return nil
}
