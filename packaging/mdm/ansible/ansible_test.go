//go:build linux

package ansible_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/avscout/avscout/packaging/linux/linuxpkgtest"
)

func needAnsible(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Fatalf("this test needs ansible-playbook (Debian package ansible-core): %v", err)
	}
}

// ansible runs ansible-playbook with its state in a temporary folder.
func ansible(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command("ansible-playbook", args...)
	cmd.Env = append(os.Environ(), "ANSIBLE_HOME="+home, "ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_ROLES_PATH="+absPath(t, "roles"), "ANSIBLE_STDOUT_CALLBACK=default")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func absPath(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPlaybookSyntax(t *testing.T) {
	needAnsible(t)
	for _, pb := range []string{"playbook.yml", "remediate.yml", "testdata/config-only.yml", "testdata/remediate-local.yml"} {
		if out, err := ansible(t, "-i", "inventory.example.ini", "--syntax-check", pb); err != nil {
			t.Errorf("%s: %v\n%s", pb, err, out)
		}
	}
}

// The role's configuration tasks for real, on this machine but into a
// temporary folder: config.yaml and the token, private, validated by the
// real agent, and a second run changes nothing.
func TestRoleConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent (-short)")
	}
	needAnsible(t)
	if os.Geteuid() != 0 {
		t.Fatal("the role writes root-owned files and needs root (CI runs as root)")
	}
	root := absPath(t, "../../..")
	agent := filepath.Join(t.TempDir(), "avscout")
	build := exec.Command(linuxpkgtest.GoBinary(t, root), "build", "-trimpath", "-o", agent, "./cmd/agent")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/agent: %v\n%s", err, out)
	}
	dir := t.TempDir()
	vars := func(extra ...string) []string {
		args := []string{"-i", "localhost,", "--tags", "config", "testdata/config-only.yml",
			"-e", "avscout_version=0.1.40", "-e", "avscout_config_dir=" + dir, "-e", "avscout_binary=" + agent}
		for _, e := range extra {
			args = append(args, "-e", e)
		}
		return args
	}
	good := vars(`{"avscout_collector_url": "https://collector.example:8443", "avscout_collector_token": "enroll-0123456789",
		"avscout_tags": {"site": "berlin", "department": "it \"north\" ü"}, "avscout_schedule_interval": "2h"}`)
	out, err := ansible(t, good...)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`localhost\s*: ok=\d+\s+changed=2 `).MatchString(out) {
		t.Errorf("first run should change config and token:\n%s", out)
	}
	if strings.Contains(out, "enroll-0123456789") {
		t.Errorf("the token is in Ansible's output:\n%s", out)
	}
	for name, want := range map[string]string{"config.yaml": "", "token": "enroll-0123456789\n"} {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("%s: mode %v uid %d, want 0600 root", name, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid)
		}
		if b, _ := os.ReadFile(p); want != "" && string(b) != want {
			t.Errorf("%s: %q, want %q", name, b, want)
		}
	}
	shown, err := exec.Command(agent, "config", "show", "--config", filepath.Join(dir, "config.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("the agent refuses the role's config: %v\n%s", err, shown)
	}
	for _, want := range []string{
		"  url: https://collector.example:8443 # file ",
		"  token_file: " + filepath.Join(dir, "token") + " # file ",
		"  interval: 2h # file ",
		"site: berlin",
		`north`,
	} {
		if !strings.Contains(string(shown), want) {
			t.Errorf("config show lacks %q:\n%s", want, shown)
		}
	}

	if out, err = ansible(t, good...); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`localhost\s*: ok=\d+\s+changed=0 `).MatchString(out) {
		t.Errorf("second run changed something:\n%s", out)
	}

	// A tag key the agent refuses: validation fails, the file in place stays.
	before, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	out, err = ansible(t, vars(`{"avscout_collector_url": "https://collector.example:8443", "avscout_tags": {"Bad Key": "x"}}`)...)
	if err == nil || !strings.Contains(out, "failed to validate") {
		t.Errorf("a bad tag key: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.yaml")); string(after) != string(before) {
		t.Error("a refused config replaced the one in place")
	}
	// No collector URL: the role stops at once and says what is missing.
	out, err = ansible(t, vars()...)
	if err == nil || !strings.Contains(out, "set avscout_version (MAJOR.MINOR.BUILD), avscout_collector_url") {
		t.Errorf("no collector URL: %v\n%s", err, out)
	}
}

// cloneScript makes a throwaway copy-on-write clone of this machine and
// runs $2 in it: an overlay of / whose writes go to a tmpfs, in the
// private mount namespace unshare gives it, with its own /proc, /run
// (empty: no systemd runs there) and the host's /dev. The overlay holds
// only the root filesystem, so the folders the run needs that may be
// other mounts (a tmpfs /tmp, a checkout on a volume) are bound in: $3
// read-write, for the results, and $4… read-only (the checkout, the
// packages). Nothing else written in the clone reaches the host.
const cloneScript = `set -e
c=$1/clone
cmd=$2
rw=$3
shift 3
mkdir -p $c && mount -t tmpfs tmpfs $c
mkdir -p $c/upper $c/work $c/root
mount -t overlay overlay -o lowerdir=/,upperdir=$c/upper,workdir=$c/work $c/root
mount -t proc proc $c/root/proc
mount --rbind /dev $c/root/dev
mount -t tmpfs tmpfs $c/root/run
mkdir -p "$c/root$rw" && mount --bind "$rw" "$c/root$rw"
for d in "$@"; do
	mkdir -p "$c/root$d"
	mount --rbind "$d" "$c/root$d"
	mount -o remount,bind,ro "$c/root$d"
done
exec chroot $c/root sh -c "$cmd"
`

// The whole role, package and service included, on a throwaway clone of
// this machine (the real apt module and dpkg install the real .deb
// there, the real systemctl enables the unit offline); then again, which
// must change nothing.
func TestRoleInstallInClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the packages and clones this machine (-short)")
	}
	needAnsible(t)
	for _, tool := range []string{"unshare", "dpkg", "systemctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test needs %s: %v", tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts an overlay in a private namespace and needs root (CI runs as root)")
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import apt").CombinedOutput(); err != nil {
		t.Fatalf("Ansible's apt module needs python3-apt (Debian package python3-apt): %v\n%s", err, out)
	}
	root := absPath(t, "../../..")
	goBin := linuxpkgtest.GoBinary(t, root)
	bin, pkgs := t.TempDir(), t.TempDir()
	linuxpkgtest.BuildBinaries(t, root, goBin, bin, "0.1.40+gtest")
	build := exec.Command(filepath.Join(root, "packaging/linux/build.sh"))
	build.Env = append(os.Environ(), "BIN="+bin, "OUT="+pkgs, "ARCHES=amd64", "VERSION=0.1.40+gtest", "PKG_VERSION=0.1.40",
		"GO="+goBin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("packaging/linux/build.sh: %v\n%s", err, out)
	}
	_, hostHad := os.Stat("/usr/bin/avscout")

	work, res := t.TempDir(), t.TempDir()
	playbook := "ansible-playbook -i localhost, testdata/clone.yml -e avscout_version=0.1.40 -e avscout_package_dir=" + pkgs +
		" -e avscout_collector_url=https://collector.example:8443 -e avscout_collector_token=enroll-0123456789" +
		` -e '{"avscout_tags": {"site": "berlin"}}'`
	inClone := "export ANSIBLE_ROLES_PATH=" + absPath(t, "roles") + " ANSIBLE_HOME=/var/tmp/avscout-ansible-test ANSIBLE_NOCOLOR=1 ANSIBLE_STDOUT_CALLBACK=default" +
		" && cd " + absPath(t, ".") +
		" && " + playbook + " > " + res + "/run1 2>&1" +
		" && " + playbook + " > " + res + "/run2 2>&1" +
		" && dpkg-query -W -f '${Version} ${db:Status-Status}' avscout > " + res + "/status" +
		" && stat -c '%n %a %U' /usr/bin/avscout /etc/avscout/config.yaml /etc/avscout/token > " + res + "/stat" +
		" && readlink /etc/systemd/system/multi-user.target.wants/avscout.service > " + res + "/wants" +
		" && /usr/bin/avscout config show > " + res + "/config 2>&1"
	out, err := exec.Command("unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c", cloneScript, "clone", work, inClone, res, root, pkgs).CombinedOutput()
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(res, name))
		return string(b)
	}
	if err != nil {
		t.Fatalf("the role in a clone: %v\n%s\nfirst run:\n%s\nsecond run:\n%s", err, out, read("run1"), read("run2"))
	}
	if !regexp.MustCompile(`localhost\s*: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0 `).MatchString(read("run1")) {
		t.Errorf("first run:\n%s", read("run1"))
	}
	if !regexp.MustCompile(`localhost\s*: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0 `).MatchString(read("run2")) {
		t.Errorf("second run changed something:\n%s", read("run2"))
	}
	if got := read("status"); got != "0.1.40 installed" {
		t.Errorf("dpkg-query in the clone: %q", got)
	}
	if got, want := read("stat"), "/usr/bin/avscout 755 root\n/etc/avscout/config.yaml 600 root\n/etc/avscout/token 600 root\n"; got != want {
		t.Errorf("files in the clone:\n%s\nwant:\n%s", got, want)
	}
	if got := strings.TrimSpace(read("wants")); !strings.HasSuffix(got, "/systemd/system/avscout.service") {
		t.Errorf("multi-user.target.wants/avscout.service -> %q", got)
	}
	for _, want := range []string{"  url: https://collector.example:8443 # file /etc/avscout/config.yaml", "  token_file: /etc/avscout/token # file", "site: berlin"} {
		if !strings.Contains(read("config"), want) {
			t.Errorf("config show in the clone lacks %q:\n%s", want, read("config"))
		}
	}
	if _, err := os.Stat("/usr/bin/avscout"); os.IsNotExist(hostHad) && !os.IsNotExist(err) {
		t.Error("the clone's install reached this machine: /usr/bin/avscout exists")
	}
}
