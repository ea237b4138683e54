//go:build linux || darwin

package mdm

// The Jamf policy script that runs `avscout remediate --execute --yes`,
// run for real under sh and bash. The real remediate would act on this
// machine, so the agent is a stub (internal/stubagent) that records its
// arguments and answers with a chosen output and exit code: what is
// checked is the script's side of the contract (arguments, exit codes,
// the policy log's lines, the log file and its bounds).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/packaging/linux/linuxpkgtest"
	"github.com/avscout/avscout/packaging/mdm/internal/stubagent"
)

// scriptWith copies a kit script into dir with some of its top lines
// replaced: each old line must appear exactly once.
func scriptWith(t *testing.T, name, dir string, lines map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, repl := range lines {
		if n := strings.Count(s, "\n"+old+"\n"); n != 1 {
			t.Fatalf("%s: line %q found %d times, want once", name, old, n)
		}
		s = strings.Replace(s, "\n"+old+"\n", "\n"+repl+"\n", 1)
	}
	out := filepath.Join(dir, filepath.Base(name))
	if err := os.WriteFile(out, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// jamfKit is the policy script wired to a stub agent, a stub launchctl
// and a log in a temporary folder.
type jamfKit struct {
	script, agent, launchctl, log string
}

func newJamfKit(t *testing.T, agent, launchctl string) jamfKit {
	t.Helper()
	dir := t.TempDir()
	k := jamfKit{agent: agent, launchctl: launchctl, log: filepath.Join(dir, "logs", "avscout-remediate.log")}
	if err := os.Mkdir(filepath.Dir(k.log), 0o755); err != nil {
		t.Fatal(err)
	}
	k.script = scriptWith(t, "jamf/remediate-policy.sh", dir, map[string]string{
		"AVSCOUT=/opt/avscout/bin/avscout":   "AVSCOUT=" + agent,
		"LOG=/var/log/avscout-remediate.log": "LOG=" + k.log,
		"LAUNCHCTL=/bin/launchctl":           "LAUNCHCTL=" + launchctl,
		"STATUS_WAIT_SECONDS=180":            "STATUS_WAIT_SECONDS=10",
	})
	return k
}

// run runs the script as Jamf does: $1 the target volume, $2 the
// computer's name, $3 the user's, $4 the product parameter.
func (k jamfKit) run(t *testing.T, shell, product string) (stdout string, code int) {
	t.Helper()
	cmd := exec.Command(shell, k.script, "/", "pilot-mac-01", "admin", product)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %s: %v", shell, k.script, err)
	}
	if errb.Len() > 0 {
		t.Errorf("the script wrote to stderr: %q", errb.String())
	}
	return out.String(), code
}

func (k jamfKit) readLog(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(k.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	planText = "RESTRICTED PRODUCT  Kaspersky Endpoint Security for Mac 12.1 (active)\n  1. run /Library/Application Support/Kaspersky Lab/KAV/Binaries/uninstall\n"
	doneText = "avscout remediate: kaspersky-endpoint-security-mac: running uninstall\n" +
		"avscout remediate: kaspersky-endpoint-security-mac: done; the host's verdict is now compliant\n" +
		"avscout remediate: the host is compliant\n"
	failText = "avscout remediate: kaspersky-endpoint-security-mac: running uninstall\n" +
		"avscout remediate: kaspersky-endpoint-security-mac: FAILED: exit status 3\n--- output ---\nself-defence is on\n--- end of output ---\n" +
		"avscout remediate: stopped at the failed step; the host is non_compliant\n"
)

// jamfStubs builds the stub agent and the stub launchctl the Jamf script
// runs in these tests.
func jamfStubs(t *testing.T) (agent, launchctl string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goBin := linuxpkgtest.GoBinary(t, root)
	bins := t.TempDir()
	return stubagent.Build(t, goBin, bins, "avscout"), stubagent.Build(t, goBin, bins, "launchctl")
}

// After a removal that worked, the script waits for the restarted
// service's status to stop saying restricted, asking every 5 seconds, and
// gives up after its bound (10 s here) rather than hang the policy.
func TestJamfRemediateWaitsForStatus(t *testing.T) {
	agent, launchctl := jamfStubs(t)
	k := newJamfKit(t, agent, launchctl)
	stubagent.Answer(t, launchctl, stubagent.Response{})
	stubagent.Answer(t, agent,
		stubagent.Response{Match: []string{"remediate"}, Exit: 0, Stdout: "<result>COMPLIANT</result>\n", Stderr: doneText},
		stubagent.Response{Match: []string{"status"}, Exit: 0, Stdout: "<result>RESTRICTED: Kaspersky Endpoint Security for Mac</result>\n"})
	out, code := k.run(t, "sh", "")
	if code != 0 || !strings.Contains(out, "COMPLIANT") {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	var status int
	for _, c := range stubagent.Joined(stubagent.Calls(t, agent)) {
		if c == "status --format jamf" {
			status++
		}
	}
	if status != 2 {
		t.Errorf("asked the status %d times in a 10 s bound at 5 s apart, want 2", status)
	}
}

func TestJamfRemediatePolicyScript(t *testing.T) {
	shells := []string{"sh"}
	if _, err := exec.LookPath("bash"); err == nil {
		shells = append(shells, "bash")
	}
	agent, launchctl := jamfStubs(t)
	stubagent.Answer(t, launchctl, stubagent.Response{})
	const execute = "remediate --execute --yes --format jamf"
	// After a removal that worked, the script waits for the restarted
	// service's status to stop saying restricted.
	const status = "status --format jamf"
	kick := []string{"kickstart -k system/io.avscout.agent"}

	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			for _, tc := range []struct {
				name, product string
				answer        stubagent.Response
				code          int
				calls, kicks  []string
				stdout        []string // lines, the summary last
				log           []string // lines the log holds, in order
			}{
				{name: "compliant at the end",
					answer: stubagent.Response{Exit: 0, Stdout: "<result>COMPLIANT</result>\n", Stderr: planText + doneText},
					code:   0, calls: []string{execute, status}, kicks: kick,
					stdout: []string{"avscout remediate: COMPLIANT (exit 0; log LOG)"},
					log:    []string{"=== ", " avscout remediate --execute --yes", planText + doneText, "result: COMPLIANT", "exit code: 0"}},
				{name: "one product, by parameter 4", product: "kaspersky-endpoint-security-mac",
					answer: stubagent.Response{Exit: 0, Stdout: "<result>COMPLIANT: Microsoft Defender</result>\n", Stderr: doneText},
					code:   0, calls: []string{execute + " --product kaspersky-endpoint-security-mac", status}, kicks: kick,
					stdout: []string{"avscout remediate: COMPLIANT: Microsoft Defender (exit 0; log LOG)"},
					log:    []string{" avscout remediate --execute --yes --product kaspersky-endpoint-security-mac", "result: COMPLIANT: Microsoft Defender", "exit code: 0"}},
				{name: "a step failed",
					answer: stubagent.Response{Exit: 1, Stdout: "<result>RESTRICTED: Kaspersky Endpoint Security for Mac 12.1 (active)</result>\n", Stderr: planText + failText},
					code:   1, calls: []string{execute}, kicks: kick,
					// the run's last lines, then the summary
					stdout: append(strings.Split(strings.TrimSuffix(planText+failText, "\n"), "\n"),
						"avscout remediate: RESTRICTED: Kaspersky Endpoint Security for Mac 12.1 (active) (exit 1; log LOG)"),
					log: []string{failText, "result: RESTRICTED: Kaspersky Endpoint Security for Mac 12.1 (active)", "exit code: 1"}},
				{name: "the agent refuses", product: "clamav",
					answer: stubagent.Response{Exit: 2, Stderr: "avscout remediate: --product \"clamav\": not a restricted product in the plan\n"},
					code:   2, calls: []string{execute + " --product clamav"},
					stdout: []string{"avscout remediate: --product \"clamav\": not a restricted product in the plan",
						"avscout remediate: ERROR: the agent refused the request or could not scan (exit 2; log LOG)"},
					log: []string{"not a restricted product", "result: no report (see the log)", "exit code: 2"}},
				{name: "no report on stdout",
					answer: stubagent.Response{Exit: 1, Stderr: "avscout remediate: host: permission denied\n"},
					code:   1, calls: []string{execute}, kicks: kick,
					stdout: []string{"avscout remediate: host: permission denied", "avscout remediate: no report (see the log) (exit 1; log LOG)"},
					log:    []string{"result: no report (see the log)"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					k := newJamfKit(t, agent, launchctl)
					stubagent.Answer(t, agent, tc.answer)
					stubagent.Answer(t, launchctl, stubagent.Response{})
					out, code := k.run(t, shell, tc.product)
					if code != tc.code {
						t.Errorf("exit %d, want %d; stdout:\n%s", code, tc.code, out)
					}
					want := strings.ReplaceAll(strings.Join(tc.stdout, "\n")+"\n", "LOG", k.log)
					if out != want {
						t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
					}
					if got := stubagent.Joined(stubagent.Calls(t, agent)); !slices.Equal(got, tc.calls) {
						t.Errorf("agent calls %q, want %q", got, tc.calls)
					}
					if got := stubagent.Joined(stubagent.Calls(t, launchctl)); !slices.Equal(got, tc.kicks) {
						t.Errorf("launchctl calls %q, want %q", got, tc.kicks)
					}
					log := k.readLog(t)
					at := 0
					for _, w := range tc.log {
						i := strings.Index(log[at:], w)
						if i < 0 {
							t.Errorf("the log lacks %q after offset %d:\n%s", w, at, log)
							break
						}
						at += i + len(w)
					}
					if st, err := os.Stat(k.log); err != nil || st.Mode().Perm() != 0o600 {
						t.Errorf("log mode: %v %v, want 0600", st.Mode(), err)
					}
				})
			}

			// A parameter 4 that is not a catalog ID never reaches the
			// agent (nor the log).
			for _, bad := range []string{"Kaspersky", "kes; rm -rf /", "$(id)", "`id`", "-x", ".hidden", "a b", "kes\nkesl", "kes/../x", "kés"} {
				k := newJamfKit(t, agent, launchctl)
				stubagent.Answer(t, agent, stubagent.Response{Exit: 0, Stdout: "<result>COMPLIANT</result>\n"})
				out, code := k.run(t, shell, bad)
				if code != 2 || !strings.Contains(out, "REFUSED: parameter 4 is not a catalog product ID") {
					t.Errorf("product %q: exit %d, %q; want 2, refused", bad, code, out)
				}
				if calls := stubagent.Calls(t, agent); len(calls) != 0 {
					t.Errorf("product %q reached the agent: %q", bad, calls)
				}
				if log := k.readLog(t); strings.Contains(log, bad) {
					t.Errorf("product %q is in the log:\n%s", bad, log)
				}
			}

			// No agent: NOT INSTALLED, exit 1.
			k := newJamfKit(t, filepath.Join(t.TempDir(), "missing"), launchctl)
			stubagent.Answer(t, launchctl, stubagent.Response{})
			if out, code := k.run(t, shell, ""); code != 1 || !strings.HasPrefix(out, "avscout remediate: NOT INSTALLED: ") {
				t.Errorf("without the agent: exit %d, %q", code, out)
			}
			if calls := stubagent.Calls(t, launchctl); len(calls) != 0 {
				t.Errorf("without the agent launchctl ran: %q", calls)
			}
		})
	}
}

// The log stays bounded: a run's output is cut to its last 256 KiB, and a
// log past 1 MiB is moved aside (one older copy) before the next run; a
// log another tool left readable becomes private.
func TestJamfRemediatePolicyScriptLogBounds(t *testing.T) {
	agent, launchctl := jamfStubs(t)
	k := newJamfKit(t, agent, launchctl)

	// A run with 400 KiB of output: its head is cut, its tail kept.
	long := strings.Repeat("step output line that goes on for a while ......\n", 8192) + "THE LAST LINE\n"
	stubagent.Answer(t, agent, stubagent.Response{Exit: 1, Stdout: "<result>RESTRICTED: x</result>\n", Stderr: "THE FIRST LINE\n" + long})
	stubagent.Answer(t, launchctl, stubagent.Response{})
	if err := os.WriteFile(k.log, []byte("an older run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(k.log, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := k.run(t, "sh", "")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if n := strings.Count(out, "\n"); n != 41 {
		t.Errorf("the policy log got %d lines, want the run's last 40 and the summary", n)
	}
	log := k.readLog(t)
	if len(log) > 262144+4096 || len(log) < 262144 {
		t.Errorf("log is %d bytes after a 400 KiB run, want its last 256 KiB plus a few lines", len(log))
	}
	for _, w := range []string{"an older run\n", "the first part of this run's output is cut", "THE LAST LINE\nresult: RESTRICTED: x\nexit code: 1\n"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q", w)
		}
	}
	if strings.Contains(log, "THE FIRST LINE") {
		t.Error("the log kept the head of an overlong run")
	}
	if st, _ := os.Stat(k.log); st.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v, want 0600", st.Mode().Perm())
	}

	// Past 1 MiB: moved to .1 (replacing an older .1), a fresh log begins.
	big := bytes.Repeat([]byte("x"), 1048577)
	if err := os.WriteFile(k.log, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.log+".1", []byte("the oldest\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stubagent.Answer(t, agent, stubagent.Response{Exit: 0, Stdout: "<result>COMPLIANT</result>\n", Stderr: doneText})
	if out, code := k.run(t, "sh", ""); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if b, _ := os.ReadFile(k.log + ".1"); !bytes.Equal(b, big) {
		t.Errorf("%s.1 is %d bytes, want the full old log", k.log, len(b))
	}
	log = k.readLog(t)
	if len(log) > 4096 || !strings.HasPrefix(log, "=== ") || !strings.HasSuffix(log, "result: COMPLIANT\nexit code: 0\n") {
		t.Errorf("the new log:\n%s", log)
	}
	if st, _ := os.Stat(k.log); st.Mode().Perm() != 0o600 {
		t.Errorf("new log mode %v, want 0600", st.Mode().Perm())
	}
}
