package dpkgtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	root := t.TempDir()
	Build(t, root, []Pkg{
		{Name: "kept", Version: "1", Files: map[string]string{"/usr/bin/kept": "#!/bin/sh\n"}},
		{Name: "removed-with-conf", Version: "1", Files: map[string]string{"/etc/rc.conf": "x\n"}, Conffiles: []string{"/etc/rc.conf"}, Remove: true},
		{Name: "removed-clean", Version: "1", Files: map[string]string{"/usr/share/gone": "x\n"}, Remove: true},
		{Name: "unpacked", Version: "1", UnpackOnly: true},
	})
	// Build again on the same root: the database is extended, not reset.
	Build(t, root, []Pkg{{Name: "later", Version: "2"}})

	data, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	status := string(data)
	for _, want := range []string{
		"Package: kept\nStatus: install ok installed\n",
		"Package: removed-with-conf\nStatus: deinstall ok config-files\n",
		"Package: unpacked\nStatus: install ok unpacked\n",
		"Package: later\nStatus: install ok installed\n",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	if strings.Contains(status, "Package: removed-clean\n") {
		t.Errorf("removed package without conffiles still recorded:\n%s", status)
	}
	st, err := os.Stat(filepath.Join(root, "usr/bin/kept"))
	if err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Errorf("payload under bin/ not installed executable: %v %v", st, err)
	}
}

func TestBuildStatusD(t *testing.T) {
	root := t.TempDir()
	BuildStatusD(t, root, []Pkg{{Name: "kesl", Version: "1", Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl": "x"}}})
	fields, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status.d/kesl"))
	if err != nil || !strings.HasPrefix(string(fields), "Package: kesl\nVersion: 1\n") || strings.Contains(string(fields), "Status:") {
		t.Errorf("status.d/kesl = %q, %v", fields, err)
	}
	sums, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status.d/kesl.md5sums"))
	if err != nil || string(sums) != "9dd4e461268c8034f5c8564e155c67a6  opt/kaspersky/kesl/bin/kesl\n" {
		t.Errorf("kesl.md5sums = %q, %v", sums, err)
	}
	if _, err := os.Stat(filepath.Join(root, "opt/kaspersky/kesl/bin/kesl")); err != nil {
		t.Errorf("payload not extracted: %v", err)
	}
}
