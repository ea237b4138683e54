package collector

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/syncbuf"
)

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for no error
	}{
		{"defaults", func(*Config) {}, ""},
		{"tls_pair", func(c *Config) { c.TLSCert, c.TLSKey = "c.pem", "k.pem" }, ""},
		{"cert_without_key", func(c *Config) { c.TLSCert = "c.pem" }, "--tls-cert and --tls-key go together"},
		{"key_without_cert", func(c *Config) { c.TLSKey = "k.pem" }, "--tls-cert and --tls-key go together"},
		{"client_ca_without_tls", func(c *Config) { c.ClientCA = "ca.pem" }, "--client-ca needs --tls-cert and --tls-key"},
		{"zero_rate", func(c *Config) { c.Rate = 0 }, "must be positive, --retention not negative"},
		{"zero_stale_after", func(c *Config) { c.StaleAfter = 0 }, "must be positive"},
		{"negative_retention", func(c *Config) { c.Retention = -time.Hour }, "--retention not negative"},
		{"zero_retention_keeps_all", func(c *Config) { c.Retention = 0 }, ""},
		{"zero_inflight", func(c *Config) { c.MaxInflight = 0 }, "--max-inflight, --max-inflight-bytes, --max-future and --body-timeout must be positive"},
		{"zero_body_timeout", func(c *Config) { c.BodyTimeout = 0 }, "--body-timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Check()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want a *ConfigError with %q", err, tt.want)
			}
		})
	}
}

func TestDays(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"400d", 400 * 24 * time.Hour, ""},
		{"0d", 0, ""},
		{"48h", 48 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"0", 0, ""},
		{"1.5d", 0, "number of days"},
		{"-1d", 0, "number of days"},
		{"d", 0, "number of days"},
		{"3 days", 0, "duration such as 48h or 400d"},
		{"", 0, "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d := Days(time.Minute)
			err := d.Set(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set(%q) = %v, want error with %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || time.Duration(d) != tt.want {
				t.Fatalf("Set(%q) = %v, %v; want %v", tt.in, time.Duration(d), err, tt.want)
			}
			if d.String() != tt.want.String() {
				t.Errorf("String = %q, want %q", d.String(), tt.want.String())
			}
		})
	}
}

func TestDashboardURL(t *testing.T) {
	tests := []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:8443", false, "http://127.0.0.1:8443/"},
		{"127.0.0.1:8443", true, "https://127.0.0.1:8443/"},
		{"0.0.0.0:8443", false, "http://localhost:8443/"},
		{"[::]:8443", true, "https://localhost:8443/"},
		{"[::1]:9000", false, "http://[::1]:9000/"},
		{"192.0.2.7:80", false, "http://192.0.2.7:80/"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := DashboardURL(addr, tt.tls); got != tt.want {
				t.Errorf("DashboardURL(%s, %v) = %q, want %q", tt.addr, tt.tls, got, tt.want)
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8443", true},
		{"127.1.2.3:80", true},
		{"[::1]:8443", true},
		{"localhost:8443", true},
		{"0.0.0.0:8443", false},
		{":8443", false},
		{"[::]:8443", false},
		{"192.0.2.7:8443", false},
		{"collector.example:8443", false},
		{"no-port", false},
	}
	for _, tt := range tests {
		if got := Loopback(tt.addr); got != tt.want {
			t.Errorf("Loopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestLogDashboard(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"off", "", []string{"level=WARN", "dashboard off", "--admin-token-file FILE", "url=http://localhost:8443/"}},
		{"ready", "/etc/avscout/admins", []string{"level=INFO", "dashboard ready", "any user name", "admin_token_file=/etc/avscout/admins", "url=http://localhost:8443/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			LogDashboard(slog.New(slog.NewTextHandler(&buf, nil)), "http://localhost:8443/", tt.file)
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

// selfSigned writes a self-signed certificate and its key as PEM files
// in dir and returns their paths.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "collector test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cert, key, ca string
		wantAuth            tls.ClientAuthType
		wantErr             string
	}{
		{"server_only", cert, key, "", tls.NoClientCert, ""},
		{"client_certs", cert, key, cert, tls.RequireAndVerifyClientCert, ""},
		{"missing_cert", filepath.Join(dir, "none.pem"), key, "", 0, "loading TLS certificate"},
		{"key_is_cert", cert, cert, "", 0, "loading TLS certificate"},
		{"missing_ca", cert, key, filepath.Join(dir, "none.pem"), 0, "reading client CA file"},
		{"ca_not_pem", cert, key, notPEM, 0, "no PEM certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ServerTLS(tt.cert, tt.key, tt.ca)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ServerTLS = %v, want error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tls.VersionTLS12 || len(cfg.Certificates) != 1 || cfg.ClientAuth != tt.wantAuth || (tt.ca != "") != (cfg.ClientCAs != nil) {
				t.Errorf("ServerTLS: min %x, %d certificates, client auth %v, CAs %v", cfg.MinVersion, len(cfg.Certificates), cfg.ClientAuth, cfg.ClientCAs != nil)
			}
		})
	}
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"check", func(c *Config) { c.TLSCert = "c.pem" }, "go together"},
		{"admin_file_missing", func(c *Config) { c.AdminTokenFile = filepath.Join(dir, "none") }, "none"},
		{"tls_files_missing", func(c *Config) { c.TLSCert, c.TLSKey = filepath.Join(dir, "c"), filepath.Join(dir, "k") }, "loading TLS certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DB = filepath.Join(dir, tt.name+".db")
			tt.edit(&c)
			err := Serve(context.Background(), c)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Serve = %v, want a *ConfigError with %q", err, tt.want)
			}
			if _, err := os.Stat(c.DB); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the database was created before the configuration was checked: %v", err)
			}
		})
	}
}

// TestServe starts a collector on a free port, finds its address in
// the start-up log, asks it for /healthz, and stops it by ending ctx.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	var log syncbuf.Buffer
	c := DefaultConfig()
	c.Listen, c.DB, c.Version = "127.0.0.1:0", filepath.Join(dir, "avscout.db"), "test-1"
	c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, c) }()

	addrRE := regexp.MustCompile(`msg="avscout-collector listening" addr=(\S+) tls=false client_certs=false db=\S+ version=test-1`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(log.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line in the log:\n%s", log.String())
		}
	}
	for _, want := range []string{"no --admin-token-file", "dashboard off", "url=http://" + addr + "/"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("start-up log lacks %q:\n%s", want, log.String())
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after ctx ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after ctx ended")
	}
	if !strings.Contains(log.String(), `msg=stopped`) {
		t.Errorf("no stopped line in the log:\n%s", log.String())
	}
}
