package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/winpath"
)

// Size limits of the files Load reads: anything larger is a mistake (or
// an attack), refused with an error rather than read.
const (
	MaxConfigSize = 1 << 20  // the config file
	MaxSecretSize = 16 << 10 // the token file
)

// Origins of a setting's value, as [Effective.Origin] names them, from the
// lowest precedence to the highest.
const (
	OriginDefault = "default"
	OriginFile    = "file"
	OriginEnv     = "env"
	OriginManaged = "managed"
)

// LoadOptions says where [Load] finds the configuration.
type LoadOptions struct {
	// OS is the target OS: default paths and permission checks follow it.
	OS OS
	// Path is the config file; "" means DefaultPath(OS). A missing file
	// at the default path means defaults; a missing Explicit one is an
	// error.
	Path string
	// Explicit is true when Path came from a flag.
	Explicit bool
	// LookupEnv is os.LookupEnv in production; nil means no environment.
	LookupEnv func(string) (string, bool)
	// Managed are the MDM-managed settings; nil means none.
	Managed Managed
	// ReadFile reads the config and token files; nil means os.ReadFile
	// (bounded to MaxConfigSize+1 bytes).
	ReadFile func(string) ([]byte, error)
	// Stat is used for sizes, existence and permission checks; nil means
	// os.Stat.
	Stat func(string) (fs.FileInfo, error)
	// Euid is the effective user id the agent runs as: 0 (root) also
	// requires root to own the config and token files; -1 skips that
	// check. The zero value checks as root does.
	Euid int
	// Sources are the names of the sources that fit OS; when set,
	// scan.sources may name only these. The agent passes the source
	// list's names: config does not know the sources itself.
	Sources []string
}

// Effective is the configuration Load put together, with where each
// setting came from.
type Effective struct {
	Config Config
	// Origin maps each setting name ("collector.url") to the layer that
	// set it: "default", "file", "env" or "managed".
	Origin map[string]string
	// Where maps each setting name to where exactly it was set, as errors
	// name it: "default", "/etc/avscout/config.yaml:7",
	// "env AVSCOUT_COLLECTOR_URL", "managed CollectorURL in …".
	Where map[string]string
	// Path is the config file read; "" when there was none.
	Path string
	// Warnings are problems that do not stop the agent.
	Warnings []string
}

// Error is an invalid setting: its name, where it was set and what is
// wrong. The message never holds a secret.
type Error struct {
	Setting string // "schedule.interval"
	Where   string // as in [Effective.Where]
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("config: %s (from %s): %v", e.Setting, e.Where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// value is one setting's raw value in a layer: a string, a []string (YAML
// sequence, plist array) or a map[string]string (tags).
type value struct {
	raw   any
	where string
}

// layer is what one source of configuration sets.
type layer struct {
	origin string
	values map[string]value // by setting name
}

// loader carries one Load.
type loader struct {
	o    LoadOptions
	e    *Effective
	errs []error
	// fileSecrets are the settings of the config file holding a secret,
	// and where they are.
	fileSecrets [][2]string
	fileInfo    fs.FileInfo
}

// Load reads the configuration: defaults, then the config file, then the
// environment, then managed settings (see the package doc), and checks the
// result. It reads the token file into Config.Collector.Token. All
// problems found are returned together (errors.Join), each naming the
// setting and where it was set; see [Error].
func Load(o LoadOptions) (*Effective, error) {
	if !o.OS.Valid() {
		return nil, fmt.Errorf("config: unknown OS %q (want linux, windows or darwin)", o.OS)
	}
	if o.ReadFile == nil {
		o.ReadFile = readFileLimited
	}
	if o.Stat == nil {
		o.Stat = os.Stat
	}
	l := &loader{o: o, e: &Effective{
		Config: Defaults(o.OS),
		Origin: map[string]string{},
		Where:  map[string]string{},
	}}
	for _, s := range table {
		l.e.Origin[s.Name] = OriginDefault
		l.e.Where[s.Name] = OriginDefault
	}

	file, err := l.readConfig()
	if err != nil {
		return nil, err
	}
	layers := []layer{file, l.readEnv()}
	managed, err := l.readManaged()
	if err != nil {
		return nil, err
	}
	layers = append(layers, managed)
	for _, ly := range layers {
		l.apply(ly)
	}
	l.expand()
	l.defaultJitter()
	l.check()
	l.crossCheck()
	l.checkSourceNames()
	if len(l.errs) == 0 {
		l.checkFiles()
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	l.warn()
	return l.e, nil
}

// readFileLimited is os.ReadFile reading at most MaxConfigSize+1 bytes,
// so that a file growing after its size was checked cannot exhaust memory.
func readFileLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
}

// readConfig reads and parses the config file into a layer.
func (l *loader) readConfig() (layer, error) {
	ly := layer{origin: OriginFile, values: map[string]value{}}
	path, explicit := l.o.Path, l.o.Explicit
	if path == "" {
		path, explicit = DefaultPath(l.o.OS), false
	}
	fi, err := l.o.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			return ly, nil
		}
		return ly, fmt.Errorf("config: config file %s: %w", path, unwrapPath(err))
	}
	if err := checkRegular(path, fi, MaxConfigSize); err != nil {
		return ly, fmt.Errorf("config: %w", err)
	}
	if isUnix(l.o.OS) {
		if err := checkConfigPerm(path, fi, l.o.Euid); err != nil {
			return ly, fmt.Errorf("config: %w", err)
		}
	}
	data, err := l.o.ReadFile(path)
	if err != nil {
		return ly, fmt.Errorf("config: config file %s: %w", path, unwrapPath(err))
	}
	if len(data) > MaxConfigSize {
		return ly, fmt.Errorf("config: config file %s is larger than %s", path, FormatSize(MaxConfigSize))
	}
	values, errs := parseFile(data, path)
	if len(errs) > 0 {
		return ly, errors.Join(errs...)
	}
	ly.values = values
	l.e.Path = path
	l.fileInfo = fi
	for _, name := range []string{"collector.token", "collector.proxy"} {
		v := values[name]
		if text, ok := v.raw.(string); ok && holdsSecret(name, text) {
			l.fileSecrets = append(l.fileSecrets, [2]string{name, v.where})
		}
	}
	return ly, nil
}

// holdsSecret reports whether a setting's text holds a secret: a token,
// or a proxy URL with a password.
func holdsSecret(name, text string) bool {
	switch name {
	case "collector.token":
		return strings.TrimSpace(text) != ""
	case "collector.proxy":
		return redactURL(strings.TrimSpace(text)) != strings.TrimSpace(text)
	}
	return false
}

// readEnv reads the environment variables of the settings.
func (l *loader) readEnv() layer {
	ly := layer{origin: OriginEnv, values: map[string]value{}}
	if l.o.LookupEnv == nil {
		return ly
	}
	for _, s := range table {
		if v, ok := l.o.LookupEnv(s.Env); ok && strings.TrimSpace(v) != "" {
			ly.values[s.Name] = value{raw: v, where: "env " + s.Env}
		}
	}
	return ly
}

// tagPrefix starts a managed key holding one tag: "Tags.site".
const tagPrefix = "Tags."

// readManaged reads the managed settings.
func (l *loader) readManaged() (layer, error) {
	ly := layer{origin: OriginManaged, values: map[string]value{}}
	if l.o.Managed == nil {
		return ly, nil
	}
	in := ""
	if s, ok := l.o.Managed.(fmt.Stringer); ok {
		in = " in " + s.String()
	}
	m, err := l.o.Managed.Settings()
	if err != nil {
		return ly, fmt.Errorf("config: managed settings%s: %w", in, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var tags map[string]string
	tagsWhere := ""
	for _, k := range keys {
		v := m[k]
		if strings.TrimSpace(v) == "" {
			continue
		}
		if len(k) > len(tagPrefix) && strings.EqualFold(k[:len(tagPrefix)], tagPrefix) {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[k[len(tagPrefix):]] = v
			tagsWhere = "managed Tags" + in
			continue
		}
		s := lookupManaged(k)
		if s == nil {
			l.e.Warnings = append(l.e.Warnings, fmt.Sprintf("managed setting %q%s is not known to this version of avscout: ignored", k, in))
			continue
		}
		where := "managed " + s.Managed + in
		if s.Kind == KindTags {
			base, err := ParseTags(v)
			if err != nil {
				l.errs = append(l.errs, &Error{Setting: s.Name, Where: where, Err: err})
				continue
			}
			for tk, tv := range tags {
				base[tk] = tv // Tags.<key> entries win over the Tags string
			}
			tags, tagsWhere = base, where
			continue
		}
		ly.values[s.Name] = value{raw: v, where: where}
	}
	if tags != nil {
		ly.values["tags"] = value{raw: tags, where: tagsWhere}
	}
	return ly, nil
}

// apply sets what ly sets, over what earlier layers set.
func (l *loader) apply(ly layer) {
	for i := range table {
		s := &table[i]
		v, ok := ly.values[s.Name]
		if !ok {
			continue
		}
		typed, err := s.convert(v.raw)
		if err != nil {
			l.errs = append(l.errs, &Error{Setting: s.Name, Where: v.where, Err: err})
			continue
		}
		s.set(&l.e.Config, typed)
		l.e.Origin[s.Name] = ly.origin
		l.e.Where[s.Name] = v.where
	}
	// collector.token and collector.token_file are one choice: setting
	// one drops the other if a lower layer set it.
	for _, pair := range [][2]string{{"collector.token", "collector.token_file"}, {"collector.token_file", "collector.token"}} {
		set, other := pair[0], pair[1]
		if _, ok := ly.values[set]; !ok {
			continue
		}
		if _, ok := ly.values[other]; ok || l.e.Origin[other] == OriginDefault {
			continue
		}
		l.e.Warnings = append(l.e.Warnings, fmt.Sprintf("%s (from %s) is ignored: %s is set by %s",
			other, l.e.Where[other], set, ly.values[set].where))
		lookup(other).set(&l.e.Config, "")
		l.e.Origin[other] = ly.origin
		l.e.Where[other] = ly.values[set].where
	}
}

// convert turns a raw value into the setting's type.
func (s *setting) convert(raw any) (any, error) {
	switch raw := raw.(type) {
	case string:
		return s.parse(raw)
	case []string:
		if s.Kind != KindList {
			return nil, errors.New("takes a single value, not a list")
		}
		out := make([]string, len(raw))
		for i, e := range raw {
			out[i] = strings.TrimSpace(e)
		}
		return out, nil
	case map[string]string:
		if s.Kind != KindTags {
			return nil, errors.New("takes a single value, not a mapping")
		}
		out := make(map[string]string, len(raw))
		for k, v := range raw {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected value of type %T", raw)
}

// expand replaces %NAME% in paths of a Windows target with the variable's
// value, so that REG_EXPAND_SZ policies and %ProgramData% work; unknown
// variables stay as they are (and the path check then names them).
func (l *loader) expand() {
	if l.o.OS != Windows || l.o.LookupEnv == nil {
		return
	}
	for i := range table {
		s := &table[i]
		if s.Kind != KindPath {
			continue
		}
		p := s.field(&l.e.Config).(*string)
		*p = winpath.ExpandVars(*p, l.o.LookupEnv)
	}
}

// defaultJitter keeps the default jitter below a short interval: the
// default is 30m, at most half the interval.
func (l *loader) defaultJitter() {
	c := &l.e.Config.Schedule
	if l.e.Origin["schedule.jitter"] == OriginDefault && c.Jitter > c.Interval/2 && c.Interval > 0 {
		c.Jitter = c.Interval / 2
	}
}

// check validates each setting on its own.
func (l *loader) check() {
	for i := range table {
		s := &table[i]
		if err := s.check(s.get(&l.e.Config), l.o.OS); err != nil {
			l.errs = append(l.errs, &Error{Setting: s.Name, Where: l.e.Where[s.Name], Err: err})
		}
	}
}

// crossCheck validates settings that depend on each other.
// checkSourceNames checks scan.sources against [LoadOptions.Sources].
func (l *loader) checkSourceNames() {
	if len(l.o.Sources) == 0 {
		return
	}
	for _, n := range l.e.Config.Scan.Sources {
		if !slices.Contains(l.o.Sources, n) {
			l.errs = append(l.errs, &Error{Setting: "scan.sources", Where: l.e.Where["scan.sources"],
				Err: fmt.Errorf("unknown source %q (valid on %s: %s)", n, l.o.OS, strings.Join(l.o.Sources, ", "))})
		}
	}
}

func (l *loader) crossCheck() {
	c := &l.e.Config
	w := l.e.Where
	if c.Schedule.Jitter >= c.Schedule.Interval && c.Schedule.Interval >= Duration(time.Minute) {
		l.errs = append(l.errs, &Error{Setting: "schedule.jitter", Where: w["schedule.jitter"],
			Err: fmt.Errorf("%q must be less than schedule.interval %q (from %s)", c.Schedule.Jitter, c.Schedule.Interval, w["schedule.interval"])})
	}
	if (c.Collector.ClientCert == "") != (c.Collector.ClientKey == "") {
		set, unset := "collector.client_cert", "collector.client_key"
		if c.Collector.ClientCert == "" {
			set, unset = unset, set
		}
		l.errs = append(l.errs, &Error{Setting: set, Where: w[set],
			Err: fmt.Errorf("%s must be set too: mutual TLS needs both the certificate and its key", unset)})
	}
	if c.Collector.Token != "" && c.Collector.TokenFile != "" {
		l.errs = append(l.errs, &Error{Setting: "collector.token", Where: w["collector.token"],
			Err: fmt.Errorf("collector.token_file is set too (from %s): set only one", w["collector.token_file"])})
	}
}

// checkFiles checks the files settings name, and reads the token file.
func (l *loader) checkFiles() {
	c := &l.e.Config
	w := l.e.Where
	unix := isUnix(l.o.OS)
	for _, secret := range l.fileSecrets {
		if !unix || l.fileInfo.Mode().Perm()&0o044 == 0 {
			break
		}
		hint := ""
		if secret[0] == "collector.token" {
			hint = ", or move the token into collector.token_file"
		}
		l.errs = append(l.errs, &Error{Setting: secret[0], Where: secret[1],
			Err: fmt.Errorf("a secret is in %s, which group or others can read (mode %04o): chmod 600 %s%s",
				l.e.Path, l.fileInfo.Mode().Perm(), shellQuote(l.e.Path), hint)})
	}
	for _, name := range []string{"collector.ca_file", "collector.client_cert", "collector.client_key"} {
		s := lookup(name)
		p := s.get(c).(string)
		if p == "" {
			continue
		}
		fi, err := l.o.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l.errs = append(l.errs, &Error{Setting: name, Where: w[name], Err: fmt.Errorf("%s does not exist", p)})
		case err != nil:
			// Unreadable here (e.g. `config show` run by a user) is not
			// yet wrong: the service reads it as root.
		case !fi.Mode().IsRegular():
			l.errs = append(l.errs, &Error{Setting: name, Where: w[name], Err: fmt.Errorf("%s is not a regular file", p)})
		case name == "collector.client_key" && unix:
			if err := checkSecretPerm(p, fi, l.o.Euid); err != nil {
				l.errs = append(l.errs, &Error{Setting: name, Where: w[name], Err: err})
			}
		}
	}
	if c.Collector.TokenFile != "" {
		tok, err := l.readToken(c.Collector.TokenFile)
		if err != nil {
			l.errs = append(l.errs, &Error{Setting: "collector.token_file", Where: w["collector.token_file"], Err: err})
			return
		}
		c.Collector.Token = tok
		l.e.Origin["collector.token"] = l.e.Origin["collector.token_file"]
		l.e.Where["collector.token"] = w["collector.token_file"]
	}
}

// readToken reads a token file: private, small, one token.
func (l *loader) readToken(path string) (string, error) {
	fi, err := l.o.Stat(path)
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, unwrapPath(err))
	}
	if err := checkRegular(path, fi, MaxSecretSize); err != nil {
		return "", err
	}
	if isUnix(l.o.OS) {
		if err := checkSecretPerm(path, fi, l.o.Euid); err != nil {
			return "", err
		}
	}
	data, err := l.o.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, unwrapPath(err))
	}
	if len(data) > MaxSecretSize {
		return "", fmt.Errorf("token file %s is larger than %s", path, FormatSize(MaxSecretSize))
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	if err := checkToken(tok, l.o.OS); err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	return tok, nil
}

// warn adds warnings about a configuration that works but may not be
// what was meant.
func (l *loader) warn() {
	c := &l.e.Config
	switch {
	case c.Collector.URL == "":
		l.e.Warnings = append(l.e.Warnings, "collector.url is not set: reports are not delivered, they stay in the spool of the state directory")
	case c.Collector.Token == "":
		l.e.Warnings = append(l.e.Warnings, "no enrollment token (collector.token or collector.token_file): the collector may refuse reports")
	}
}

// checkRegular refuses what is not a regular file or is larger than max.
func checkRegular(path string, fi fs.FileInfo, max int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Size() > max {
		return fmt.Errorf("%s is %d bytes, larger than the limit of %s", path, fi.Size(), FormatSize(max))
	}
	return nil
}

// checkConfigPerm refuses a config file others could change: whoever
// writes it decides what the root service runs and where it sends data.
func checkConfigPerm(path string, fi fs.FileInfo, euid int) error {
	if m := fi.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %04o), which would let them control the agent: chmod 600 %s",
			path, m, shellQuote(path))
	}
	return checkOwner(path, fi, euid)
}

// checkSecretPerm refuses a secret file (token, private key) group or
// others can access.
func checkSecretPerm(path string, fi fs.FileInfo, euid int) error {
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%s holds a secret but group or others can access it (mode %04o): chmod 600 %s",
			path, m, shellQuote(path))
	}
	return checkOwner(path, fi, euid)
}

// checkOwner requires root to own a file the root service trusts.
func checkOwner(path string, fi fs.FileInfo, euid int) error {
	if euid != 0 {
		return nil
	}
	if uid, ok := fileOwner(fi); ok && uid != 0 {
		return fmt.Errorf("%s is owned by uid %d, not root, who runs the agent: chown root %s", path, uid, shellQuote(path))
	}
	return nil
}

// unwrapPath drops the *fs.PathError around err, whose path the caller
// already names.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// shellQuote quotes p for a shell command line when it needs it.
func shellQuote(p string) string {
	if strings.IndexFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@", r))
	}) < 0 {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
