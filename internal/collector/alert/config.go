// Package alert tells people when a host turns restricted, incomplete or
// unprotected, or recovers: it delivers the alerts the store queued in its
// outbox (see [store.Alert]) to the webhooks of the alerts configuration,
// signed with each webhook's HMAC secret, as JSON or as a Slack-compatible
// message, and retries with backoff until a receiver takes them or they
// are too old.
//
// The store decides what an alert is, in the transaction that stores the
// state change; this package only delivers. It never drops an alert it
// could not deliver without recording why, and it treats every string
// that came from a host as hostile: JSON-encoded, and escaped in Slack
// messages so that it cannot mention people or make links.
package alert

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/privatefile"
)

// Message formats of a webhook.
const (
	FormatJSON  = "json"  // the alert as a JSON document (the default)
	FormatSlack = "slack" // a Slack incoming-webhook message: {"text": …}
)

// Defaults of the delivery settings.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultRetryMin    = 5 * time.Second
	DefaultRetryMax    = 10 * time.Minute
	DefaultGiveUpAfter = 72 * time.Hour
	DefaultKeep        = 30 * 24 * time.Hour
)

const (
	maxConfigFile = 1 << 20
	// MinSecret is the shortest HMAC secret accepted, in bytes.
	MinSecret = 16
)

// Config is the alerts configuration: the webhooks and how alerts are
// delivered to them.
type Config struct {
	Webhooks []Webhook
	// Timeout bounds one delivery attempt.
	Timeout time.Duration
	// RetryMin is the first retry's delay; each retry waits twice as
	// long as the one before (with jitter), at most RetryMax.
	RetryMin, RetryMax time.Duration
	// GiveUpAfter is how long after its state change an alert is
	// retried; an attempt that fails later gives up, and says so.
	GiveUpAfter time.Duration
	// Keep is how long delivered and given-up alerts stay in the outbox.
	Keep time.Duration
}

// Webhook is one receiver of alerts.
type Webhook struct {
	Name   string
	URL    *url.URL
	Events []string // of store.AlertEvents
	Format string   // FormatJSON or FormatSlack
	// secret signs the body (see [Sign]); empty for a Slack webhook
	// without one. It is never logged nor printed.
	secret []byte
	// rootCAs verify the receiver's certificate; nil: the system's.
	rootCAs *x509.CertPool
}

// Host is the webhook's URL as logs may show it: scheme and host only,
// since a URL's path often holds a credential (Slack's do).
func (w *Webhook) Host() string { return w.URL.Scheme + "://" + w.URL.Host }

// Routes are the store's alert routes of c's webhooks; none for a nil c.
func (c *Config) Routes() []store.AlertRoute {
	if c == nil {
		return nil
	}
	routes := make([]store.AlertRoute, len(c.Webhooks))
	for i, w := range c.Webhooks {
		routes[i] = store.AlertRoute{Webhook: w.Name, Events: slices.Clone(w.Events)}
	}
	return routes
}

// file is the configuration file's shape (YAML).
type file struct {
	Webhooks []struct {
		Name       string   `yaml:"name"`
		URL        string   `yaml:"url"`
		Events     []string `yaml:"events"`
		Format     string   `yaml:"format"`
		SecretFile string   `yaml:"secret_file"`
		SecretEnv  string   `yaml:"secret_env"`
		CAFile     string   `yaml:"ca_file"`
		// AllowHTTP lets a webhook on a loopback address be plain HTTP:
		// for a receiver on the same machine, or tests.
		AllowHTTP bool `yaml:"allow_http_loopback"`
	} `yaml:"webhooks"`
	Delivery struct {
		Timeout     time.Duration `yaml:"timeout"`
		RetryMin    time.Duration `yaml:"retry_min"`
		RetryMax    time.Duration `yaml:"retry_max"`
		GiveUpAfter time.Duration `yaml:"give_up_after"`
		Keep        time.Duration `yaml:"keep"`
	} `yaml:"delivery"`
}

// Env gives [Load] what it reads besides the configuration file: files
// the configuration names and environment variables.
type Env struct {
	ReadFile func(name string) ([]byte, error) // a private file, bounded; nil: readPrivate
	Getenv   func(key string) string           // nil: os.Getenv
}

// Load reads the alerts configuration file path (YAML, see README.md
// "Alerts"). The file and the secret files it names must be private
// (not accessible to all users), since a webhook URL is often a
// credential. Errors name the file and the webhook, never a secret.
func Load(path string, env Env) (*Config, error) {
	if env.ReadFile == nil {
		env.ReadFile = func(name string) ([]byte, error) {
			b, _, err := privatefile.Read(name, maxConfigFile)
			return b, err
		}
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	b, err := env.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("alerts config: %w", err)
	}
	c, err := parse(b, env)
	if err != nil {
		return nil, fmt.Errorf("alerts config %s: %w", path, err)
	}
	return c, nil
}

// parse decodes and checks a configuration file's content.
func parse(b []byte, env Env) (*Config, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	c := &Config{Timeout: DefaultTimeout, RetryMin: DefaultRetryMin, RetryMax: DefaultRetryMax,
		GiveUpAfter: DefaultGiveUpAfter, Keep: DefaultKeep}
	d := f.Delivery
	for _, s := range []struct {
		name string
		v    time.Duration
		dst  *time.Duration
	}{{"timeout", d.Timeout, &c.Timeout}, {"retry_min", d.RetryMin, &c.RetryMin}, {"retry_max", d.RetryMax, &c.RetryMax},
		{"give_up_after", d.GiveUpAfter, &c.GiveUpAfter}, {"keep", d.Keep, &c.Keep}} {
		switch {
		case s.v < 0:
			return nil, fmt.Errorf("delivery.%s: must be positive", s.name)
		case s.v > 0:
			*s.dst = s.v
		}
	}
	if c.RetryMin > c.RetryMax {
		return nil, fmt.Errorf("delivery.retry_min %v is longer than retry_max %v", c.RetryMin, c.RetryMax)
	}
	if len(f.Webhooks) == 0 {
		return nil, errors.New("no webhooks")
	}
	for i, fw := range f.Webhooks {
		where := fmt.Sprintf("webhooks[%d]", i)
		if !validName(fw.Name) {
			return nil, fmt.Errorf("%s: name %q: want 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", where, fw.Name)
		}
		where = fmt.Sprintf("webhook %s", fw.Name)
		if slices.ContainsFunc(c.Webhooks, func(w Webhook) bool { return w.Name == fw.Name }) {
			return nil, fmt.Errorf("%s: name used twice", where)
		}
		w := Webhook{Name: fw.Name, Format: fw.Format, Events: fw.Events}
		var err error
		if w.URL, err = checkURL(fw.URL, fw.AllowHTTP); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if w.Format == "" {
			w.Format = FormatJSON
		}
		if w.Format != FormatJSON && w.Format != FormatSlack {
			return nil, fmt.Errorf("%s: format %q: want %s or %s", where, w.Format, FormatJSON, FormatSlack)
		}
		if len(w.Events) == 0 {
			return nil, fmt.Errorf("%s: no events: list some of %s", where, strings.Join(store.AlertEvents(), ", "))
		}
		for _, e := range w.Events {
			if !slices.Contains(store.AlertEvents(), e) {
				return nil, fmt.Errorf("%s: unknown event %q: want some of %s", where, e, strings.Join(store.AlertEvents(), ", "))
			}
		}
		switch {
		case fw.SecretFile != "" && fw.SecretEnv != "":
			return nil, fmt.Errorf("%s: secret_file and secret_env: give one", where)
		case fw.SecretFile != "":
			b, err := env.ReadFile(fw.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("%s: secret: %w", where, err)
			}
			w.secret = bytes.TrimRight(b, "\r\n")
		case fw.SecretEnv != "":
			w.secret = []byte(env.Getenv(fw.SecretEnv))
			if len(w.secret) == 0 {
				return nil, fmt.Errorf("%s: secret_env: the environment variable %s is not set", where, fw.SecretEnv)
			}
		case w.Format == FormatJSON:
			return nil, fmt.Errorf("%s: no secret: a json webhook needs secret_file or secret_env, whose HMAC signs each alert", where)
		}
		if w.secret != nil && len(w.secret) < MinSecret {
			return nil, fmt.Errorf("%s: secret shorter than %d bytes", where, MinSecret)
		}
		if fw.CAFile != "" {
			pem, err := os.ReadFile(fw.CAFile)
			if err != nil {
				return nil, fmt.Errorf("%s: ca_file: %w", where, err)
			}
			w.rootCAs = x509.NewCertPool()
			if !w.rootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: ca_file %s: no PEM certificates", where, fw.CAFile)
			}
		}
		c.Webhooks = append(c.Webhooks, w)
	}
	return c, nil
}

// checkURL parses a webhook's URL: https, or http to a loopback address
// when allowHTTP; no user info (a credential logs would show).
func checkURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("url: want an absolute https:// URL")
	}
	if u.User != nil {
		return nil, errors.New("url: user info is not allowed (authenticate receivers with the signature)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return nil, errors.New("url: plain http is refused: use https (allow_http_loopback permits http to a loopback address, for tests)")
		}
		if !loopback(u.Hostname()) {
			return nil, errors.New("url: allow_http_loopback permits http only to a loopback address (127.0.0.1, ::1, localhost)")
		}
	default:
		return nil, errors.New("url: want an absolute https:// URL")
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// validName reports whether a webhook's name is 1 to 64 of a-z, 0-9, '.',
// '_' and '-', starting with a letter or digit: it shows in logs and
// metric labels as it is.
func validName(name string) bool {
	if name == "" || len(name) > 64 || strings.IndexByte("._-", name[0]) >= 0 {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
