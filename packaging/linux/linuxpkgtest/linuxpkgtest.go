// Package linuxpkgtest builds, for the tests of the Linux packages and of
// what installs them (the Ansible role), the release binaries that
// packaging/linux/build.sh packages, the way `make cross` builds them, so
// that each test does not carry its own copy of the build command.
package linuxpkgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GoBinary returns the go binary scripts/ensure-go.sh of the checkout at
// root prints.
func GoBinary(t testing.TB, root string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(root, "scripts", "ensure-go.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/ensure-go.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// BuildBinaries builds the agent and the collector of the checkout at
// root for linux/amd64 into dir as avscout-linux-amd64 and
// avscout-collector-linux-amd64 (the names build.sh wants in BIN),
// stamped with version.
func BuildBinaries(t testing.TB, root, goBin, dir, version string) {
	t.Helper()
	for name, pkg := range map[string]string{"avscout": "./cmd/agent", "avscout-collector": "./cmd/collector"} {
		cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version,
			"-o", filepath.Join(dir, name+"-linux-amd64"), pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
}
