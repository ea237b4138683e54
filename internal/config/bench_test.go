package config

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadFull loads testdata/full.yaml with its token, CA and client
// files: what the service does once at start.
func BenchmarkLoadFull(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, dir, "token", "enroll-3f9a6c1d2e\n", 0o600)
	writeFile(b, dir, "client-key.pem", "pem\n", 0o600)
	writeFile(b, dir, "ca.pem", "pem\n", 0o644)
	writeFile(b, dir, "client.pem", "pem\n", 0o644)
	path := fixture(b, "full.yaml", dir)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadManaged loads the example file, the environment and the
// managed preferences plist (parsed each time, as at start).
func BenchmarkLoadManaged(b *testing.B) {
	dir := b.TempDir()
	path := fixture(b, "config.example.yaml", dir)
	f, err := os.Open(filepath.Join("testdata", "managed.binary.plist"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	lookup := env(map[string]string{"AVSCOUT_LOG_LEVEL": "debug", "AVSCOUT_TAGS": "site=berlin,dept=it"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		m, err := FromPlist(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Load(LoadOptions{OS: Darwin, Path: path, Euid: -1, LookupEnv: lookup, Managed: m}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShow prints the effective configuration of the full fixture.
func BenchmarkShow(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, dir, "token", "enroll-3f9a6c1d2e\n", 0o600)
	writeFile(b, dir, "client-key.pem", "pem\n", 0o600)
	writeFile(b, dir, "ca.pem", "pem\n", 0o644)
	writeFile(b, dir, "client.pem", "pem\n", 0o644)
	e, err := Load(LoadOptions{OS: Linux, Path: fixture(b, "full.yaml", dir), Euid: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Show(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
