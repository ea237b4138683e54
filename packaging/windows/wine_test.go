//go:build linux

package winpkg_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/winetest"
)

// winHost is one Wine prefix.
type winHost struct {
	*winetest.Prefix
	t *testing.T
}

func newWinHost(t *testing.T, repo string) *winHost {
	t.Helper()
	if missing := winetest.Missing(); len(missing) > 0 {
		t.Fatalf("the MSI test under Wine needs %s (apt: wine wine64 gcc-mingw-w64-x86-64-win32)", strings.Join(missing, ", "))
	}
	prefix := filepath.Join(t.TempDir(), "prefix")
	start := time.Now()
	if b, err := exec.Command(filepath.Join(repo, "scripts", "wine-prefix.sh"), prefix).CombinedOutput(); err != nil {
		t.Fatalf("scripts/wine-prefix.sh: %v\n%s", err, b)
	}
	t.Logf("fresh Wine prefix in %s", time.Since(start).Round(time.Millisecond))
	w := &winHost{Prefix: winetest.Start(t, prefix), t: t}
	t.Cleanup(w.Stop)
	return w
}

// run runs a Windows program and returns its output (stdout, then
// stderr) and exit code.
func (w *winHost) run(args ...string) (string, int) {
	w.t.Helper()
	stdout, stderr, err := w.Output(w.Cmd("wine", args...))
	out := string(stdout) + string(stderr)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out, ee.ExitCode()
	case err != nil:
		w.t.Fatalf("wine %s: %v", strings.Join(args, " "), err)
	}
	return out, 0
}

func (w *winHost) exists(p string) bool {
	_, err := os.Stat(w.Local(p))
	return err == nil
}

func (w *winHost) read(p string) string {
	w.t.Helper()
	b, err := os.ReadFile(w.Local(p))
	if err != nil {
		w.t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

// values returns the values of a registry key in the 64-bit view, nil
// when the key does not exist.
func (w *winHost) values(key string) map[string]string {
	w.t.Helper()
	out, code := w.run("reg", "query", key, "/reg:64")
	if code != 0 {
		return nil
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		if g := regLine.FindStringSubmatch(l); g != nil {
			m[g[1]] = g[3]
		}
	}
	return m
}

// subkeys returns the names of the subkeys of key.
func (w *winHost) subkeys(key string) []string {
	w.t.Helper()
	out, _ := w.run("reg", "query", key, "/reg:64")
	// reg prints subkeys as full paths (HKEY_LOCAL_MACHINE\…\name).
	_, leaf, _ := strings.Cut(key, `\`)
	leaf = strings.ToLower(leaf) + `\`
	var names []string
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		if i := strings.Index(strings.ToLower(l), leaf); i >= 0 && strings.HasPrefix(l, "HKEY_") && len(l) > i+len(leaf) {
			names = append(names, l[i+len(leaf):])
		}
	}
	return names
}

func (w *winHost) waitState(service, state string) {
	w.t.Helper()
	for i := 0; ; i++ {
		out, _ := w.run("sc", "query", service)
		if strings.Contains(out, state) {
			return
		}
		if i == 100 {
			w.t.Fatalf("service %s is not %s:\n%s", service, state, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// msiexec runs msiexec with a verbose log and returns its exit code and
// the log.
func (w *winHost) msiexec(step string, args ...string) (int, string) {
	w.t.Helper()
	logPath := `C:\` + strings.ReplaceAll(step, " ", "-") + ".log"
	start := time.Now()
	_, code := w.run(append(append([]string{"msiexec"}, args...), "/qn", "/l*v", logPath)...)
	w.t.Logf("%s: msiexec exit %d in %s", step, code, time.Since(start).Round(time.Millisecond))
	log := ""
	if w.exists(logPath) {
		log = w.read(logPath)
	}
	return code, log
}

const (
	uninstallKey = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`
	serviceKey   = `HKLM\SYSTEM\CurrentControlSet\Services\avscout`
	eventLogKey  = `HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\avscout`
	detectKey    = `HKLM\SOFTWARE\avscout`
	agentExe     = `C:\Program Files\avscout\avscout.exe`
	configFile   = `C:\ProgramData\avscout\config.yaml`
	tokenFile    = `C:\ProgramData\avscout\collector.token`
	agentLog     = `C:\ProgramData\avscout\logs\avscout.log`
)

// arpEntries returns the Uninstall entries named like the agent.
func (w *winHost) arpEntries() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, k := range w.subkeys(uninstallKey) {
		if v := w.values(uninstallKey + `\` + k); v["DisplayName"] == serviceDisplayName {
			out[k] = v
		}
	}
	return out
}

// installed checks what an installed version must have.
func (w *winHost) installed(version, productCode string) {
	w.t.Helper()
	t := w.t
	for _, f := range []string{agentExe, `C:\Program Files\avscout\avscout-msi-setup.exe`} {
		if !w.exists(f) {
			t.Errorf("%s is missing", f)
		}
	}
	arp := w.arpEntries()
	if len(arp) != 1 || arp[productCode] == nil {
		t.Errorf("Uninstall entries of the agent: %v, want one under %s", arp, productCode)
	} else if v := arp[productCode]; v["DisplayVersion"] != version || v["Publisher"] != "avscout" ||
		!strings.Contains(v["UninstallString"], productCode) || v["InstallLocation"] != `C:\Program Files\avscout\` {
		t.Errorf("Uninstall entry %s: %v", productCode, v)
	}
	if v := w.values(detectKey); v["Version"] != version || v["InstallDir"] != `C:\Program Files\avscout\` {
		t.Errorf("%s: %v, want Version %s and InstallDir", detectKey, v, version)
	}
	svc := w.values(serviceKey)
	for name, want := range map[string]string{
		"ImagePath": imagePath, "Start": "0x2", "ObjectName": "LocalSystem", "Type": "0x10",
		"DisplayName": serviceDisplayName, "Description": serviceDescription,
	} {
		if svc[name] != want {
			t.Errorf("service %s = %q, want %q", name, svc[name], want)
		}
	}
	if v := w.values(eventLogKey); v["EventMessageFile"] != `%SystemRoot%\System32\EventCreate.exe` || v["TypesSupported"] != "0x7" {
		t.Errorf("event log source: %v", v)
	}
	w.waitState(serviceName, "RUNNING")
	if out, code := w.run(agentExe, "service", "status"); code != 0 || !strings.Contains(out, "running") {
		t.Errorf("avscout service status: exit %d, %q", code, out)
	}
}

func testUnderWine(t *testing.T, f *fixture, msi123 string) {
	total := time.Now()
	msi122 := f.mustBuild(t, "1.2.2")
	msi124 := f.mustBuild(t, "1.2.4")
	w := newWinHost(t, f.repo)
	for _, m := range []string{msi122, msi123, msi124} {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.Dir, "drive_c", filepath.Base(m)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	win := func(m string) string { return `C:\` + filepath.Base(m) }
	pc123, pc124 := productCode(t, msi123), productCode(t, msi124)

	const (
		url    = "https://collector.test:8443"
		token  = "enroll-FIRST-7f3a9c"
		token2 = "enroll-SECOND-1b2c"
	)
	// A config folder made before the install by someone else is not
	// trusted: the install fails and changes nothing in it. Wine derives
	// owners from Unix owners (the prefix's Unix user is the Windows user
	// that runs everything, the helper included; another uid shows as
	// ANONYMOUS LOGON), so a folder or config file chowned to another uid
	// stands for one planted by a normal user on Windows. Needs root.
	cfgDir := w.Local(`C:\ProgramData\avscout`)
	const planted = "collector:\n  url: https://evil.test\n"
	for _, which := range []string{"folder", "config"} {
		if os.Getuid() != 0 {
			// As the other root-only tests: never a silent pass in CI, which runs as root.
			t.Fatal("the foreign-owner cases chown a planted folder to another uid and need root (CI runs as root)")
		}
		if err := os.MkdirAll(cfgDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte(planted), 0o644); err != nil {
			t.Fatal(err)
		}
		chown := cfgDir
		if which == "config" {
			chown = filepath.Join(cfgDir, "config.yaml")
		}
		if err := os.Chown(chown, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		code, _ := w.msiexec("install with a planted "+which, "/i", win(msi123), "COLLECTOR_URL="+url, "COLLECTOR_TOKEN="+token)
		if code == 0 {
			t.Errorf("an install over a %s owned by another user succeeded", which)
		}
		if w.read(configFile) != planted || w.exists(tokenFile) {
			t.Errorf("the refused install (planted %s) changed the folder", which)
		}
		w.removed()
		if err := os.RemoveAll(cfgDir); err != nil {
			t.Fatal(err)
		}
	}
	// A value the command line cannot carry (a double quote) fails the
	// install, nothing written.
	code, _ := w.msiexec("install with a quote", "/i", win(msi123), "COLLECTOR_URL="+url, `COLLECTOR_TOKEN=tok"x`)
	if code == 0 {
		t.Error(`an install with COLLECTOR_TOKEN=tok"x succeeded`)
	}
	if w.exists(configFile) || w.exists(tokenFile) {
		t.Error("the install with a quote left a config or token file")
	}
	w.removed()

	// A value the agent would refuse (plain http to a remote collector)
	// fails the install, which rolls back and writes no config.
	code, log := w.msiexec("install with a bad URL", "/i", win(msi123), "COLLECTOR_URL=http://collector.test", "COLLECTOR_TOKEN="+token)
	if code == 0 {
		t.Error("an install with COLLECTOR_URL=http://collector.test succeeded")
	}
	if w.exists(configFile) || w.exists(tokenFile) {
		t.Error("the failed install left a config or token file")
	}
	w.removed() // rolled back: no files, service, registry values
	// Wine ignores MsiHiddenProperties: its end-of-session property dump
	// shows the token when the install fails before ForgetToken (on
	// Windows the hidden property is never logged). Nothing else may.
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, token) && !strings.HasPrefix(strings.TrimSpace(l), "Property(S): COLLECTOR_TOKEN = ") {
			t.Errorf("the failed install's log shows the token: %s", l)
		}
	}

	// First install, with the properties.
	code, log = w.msiexec("install", "/i", win(msi123), "COLLECTOR_URL="+url, "COLLECTOR_TOKEN="+token, "TAGS=site=wine-lab,dept=it")
	if code != 0 {
		t.Fatalf("install: exit %d\n%s", code, tail(log))
	}
	if strings.Contains(log, token) {
		t.Error("the token is in the install log")
	}
	w.installed("1.2.3", pc123)
	cfg := w.read(configFile)
	for _, s := range []string{`url: "` + url + `"`, `token_file: "C:\\ProgramData\\avscout\\collector.token"`, `site: "wine-lab"`, `dept: "it"`} {
		if !strings.Contains(cfg, s) {
			t.Errorf("config lacks %s:\n%s", s, cfg)
		}
	}
	if got := strings.TrimSpace(w.read(tokenFile)); got != token {
		t.Errorf("token file holds %q", got)
	}
	// The agent itself accepts the config it was given.
	if out, code := w.run(agentExe, "config", "show"); code != 0 || !strings.Contains(out, url) || strings.Contains(out, token) {
		t.Errorf("avscout config show: exit %d\n%s", code, out)
	}

	// A downgrade is refused and changes nothing.
	code, log = w.msiexec("downgrade", "/i", win(msi122))
	// Wine's exit code is 1603 (ERROR_INSTALL_FAILURE) truncated to 8
	// bits, and its log lacks the LaunchCondition message (on Windows the
	// message is the error shown and logged).
	if code != 1603&0xff {
		t.Errorf("installing 1.2.2 over 1.2.3: exit %d, want 1603 (as %d)", code, 1603&0xff)
	}
	if !strings.Contains(log, "WIX_DOWNGRADE_DETECTED = "+pc123) {
		t.Errorf("the downgrade log does not show the newer product detected (%d bytes):\n%s", len(log), tail(log))
	}
	if v := w.values(detectKey); v["Version"] != "1.2.3" {
		t.Errorf("after the refused downgrade: %v", v)
	}

	// Major upgrade with other properties: the first config stays.
	code, log = w.msiexec("upgrade", "/i", win(msi124), "COLLECTOR_URL=https://other.test", "COLLECTOR_TOKEN="+token2)
	if code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, tail(log))
	}
	if strings.Contains(log, token2) {
		t.Error("the token is in the upgrade log")
	}
	w.installed("1.2.4", pc124)
	if got := w.read(configFile); got != cfg {
		t.Errorf("the upgrade changed the config:\n%s", got)
	}
	if got := strings.TrimSpace(w.read(tokenFile)); got != token {
		t.Errorf("the upgrade changed the token file: %q", got)
	}

	// A repair (reinstall of the same version) with other properties
	// leaves the config alone too.
	code, log = w.msiexec("repair", "/i", win(msi124), "REINSTALL=ALL", "REINSTALLMODE=vamus",
		"COLLECTOR_URL=https://third.test", "COLLECTOR_TOKEN="+token2)
	if code != 0 {
		t.Fatalf("repair: exit %d\n%s", code, tail(log))
	}
	w.installed("1.2.4", pc124)
	if got := w.read(configFile); got != cfg {
		t.Errorf("the repair changed the config:\n%s", got)
	}
	if strings.Contains(log, token2) {
		t.Error("the token is in the repair log")
	}

	// Removal: files, service, registry go; the config and state stay.
	code, log = w.msiexec("uninstall", "/x", pc124)
	if code != 0 {
		t.Fatalf("uninstall: exit %d\n%s", code, tail(log))
	}
	w.removed()
	if !w.exists(configFile) || !w.exists(tokenFile) {
		t.Error("the uninstall removed the config (it is documented to stay without PURGE=1)")
	}

	// A machine that never had a config, installed without properties:
	// the service runs on defaults and keeps its reports in the spool.
	if err := os.RemoveAll(w.Local(`C:\ProgramData\avscout`)); err != nil {
		t.Fatal(err)
	}
	code, log = w.msiexec("install without properties", "/i", win(msi124))
	if code != 0 {
		t.Fatalf("install without properties: exit %d\n%s", code, tail(log))
	}
	w.installed("1.2.4", pc124)
	if w.exists(configFile) {
		t.Errorf("a config was written without properties:\n%s", w.read(configFile))
	}
	waitLog := time.Now()
	for !strings.Contains(w.readIfExists(agentLog), "no collector.url configured") {
		if time.Since(waitLog) > 30*time.Second {
			t.Fatalf("the agent did not log that it has no collector:\n%s", w.readIfExists(agentLog))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// PURGE=1 also removes the config folder.
	if code, log = w.msiexec("uninstall with purge", "/x", win(msi124), "PURGE=1"); code != 0 {
		t.Fatalf("uninstall with PURGE=1: exit %d\n%s", code, tail(log))
	}
	w.removed()
	if w.exists(`C:\ProgramData\avscout`) {
		t.Error("PURGE=1 left C:\\ProgramData\\avscout")
	}
	t.Logf("Wine scenario in %s", time.Since(total).Round(time.Millisecond))
}

func (w *winHost) readIfExists(p string) string {
	b, _ := os.ReadFile(w.Local(p))
	return string(b)
}

// removed checks that an uninstall left nothing of the product.
func (w *winHost) removed() {
	w.t.Helper()
	t := w.t
	if ents, err := os.ReadDir(w.Local(`C:\Program Files\avscout`)); err == nil && len(ents) > 0 {
		t.Errorf("files left in C:\\Program Files\\avscout: %v", ents)
	}
	for _, k := range []string{serviceKey, detectKey, eventLogKey} {
		if v := w.values(k); v != nil {
			t.Errorf("%s is left: %v", k, v)
		}
	}
	if arp := w.arpEntries(); len(arp) > 0 {
		t.Errorf("Uninstall entries left: %v", arp)
	}
	if out, _ := w.run("sc", "query", serviceName); strings.Contains(out, "RUNNING") || strings.Contains(out, "STOPPED") {
		t.Errorf("the service is left:\n%s", out)
	}
	if pids := w.agentProcesses(); len(pids) > 0 {
		t.Errorf("avscout.exe still runs after the removal (Linux pids %v)", pids)
	}
}

// agentProcesses returns the Linux pids of this prefix's processes whose
// command line names avscout.exe.
func (w *winHost) agentProcesses() []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte("WINEPREFIX="+w.Dir+"\x00")) {
			continue
		}
		if cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); bytes.Contains(bytes.ToLower(cmd), []byte("avscout.exe")) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// tail is the end of an MSI log, for failure messages.
func tail(log string) string {
	lines := strings.Split(log, "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}
