//go:build linux

package ansible_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/avscout/avscout/packaging/linux/linuxpkgtest"
	"github.com/avscout/avscout/packaging/mdm/internal/stubagent"
)

// planJSON is a `remediate --plan --format json` with one product and one
// step, in the shape internal/remediate writes.
const planJSON = `{"host":"pilot-01","os":"linux","verdict":"non_compliant","products":[` +
	`{"id":"kaspersky-endpoint-security-linux","name":"Kaspersky Endpoint Security for Linux","vendor":"Kaspersky","state":"active",` +
	`"steps":[{"action":"package","argv":["/usr/bin/dpkg","--purge","kesl"],"from":"dpkg"}]}],` +
	`"protection":{"protected":false}}`

const emptyPlanJSON = `{"host":"pilot-01","os":"linux","verdict":"compliant","products":[]}`

// The role's remediation tasks with the real ansible-playbook on this
// machine (local connection), the agent being a stub that records its
// arguments (the real remediate would act on this machine): normal mode
// runs `remediate --execute --yes`, fails the host unless it exits 0 and
// is "changed" only when a step ran; check mode only plans; the product
// is passed as one argument and checked first; the tasks are off unless
// avscout_remediate is true.
func TestRoleRemediate(t *testing.T) {
	needAnsible(t)
	root := absPath(t, "../../..")
	agent := stubagent.Build(t, linuxpkgtest.GoBinary(t, root), t.TempDir(), "avscout")
	// No service restart on the test machine, whatever it runs.
	noSystemd := `{"avscout_systemd": {"stat": {"isdir": false}}}`
	const execute = "remediate --execute --yes --format json"
	running := "avscout remediate: kaspersky-endpoint-security-linux: running /usr/bin/dpkg --purge kesl\n" +
		"avscout remediate: kaspersky-endpoint-security-linux: done; the host's verdict is now compliant\n"

	for _, tc := range []struct {
		name     string
		args     []string
		answers  []stubagent.Response
		fail     bool
		changed  int
		calls    []string
		contains []string
	}{
		{name: "removed, compliant",
			args:    []string{"testdata/remediate-local.yml"},
			answers: []stubagent.Response{{Match: []string{"--execute"}, Exit: 0, Stdout: "{}\n", Stderr: running}},
			changed: 1, calls: []string{execute}},
		{name: "nothing to remove",
			args:    []string{"testdata/remediate-local.yml"},
			answers: []stubagent.Response{{Match: []string{"--execute"}, Exit: 0, Stdout: "{}\n", Stderr: "avscout remediate: the host is compliant\n"}},
			changed: 0, calls: []string{execute}},
		{name: "one product",
			args:    []string{"testdata/remediate-local.yml", "-e", "avscout_remediate_product=kaspersky-endpoint-security-linux"},
			answers: []stubagent.Response{{Match: []string{"--product", "kaspersky-endpoint-security-linux"}, Exit: 0, Stdout: "{}\n", Stderr: running}},
			changed: 1, calls: []string{execute + " --product kaspersky-endpoint-security-linux"}},
		{name: "still not compliant fails the host",
			args: []string{"testdata/remediate-local.yml"},
			answers: []stubagent.Response{{Match: []string{"--execute"}, Exit: 1, Stdout: "{}\n",
				Stderr: "avscout remediate: kaspersky-endpoint-security-linux: FAILED: exit status 100\n"}},
			fail: true, calls: []string{execute}, contains: []string{"FAILED: exit status 100"}},
		{name: "check mode plans, changed when there is a step",
			args:    []string{"testdata/remediate-local.yml", "--check"},
			answers: []stubagent.Response{{Match: []string{"--plan"}, Exit: 0, Stdout: planJSON}},
			changed: 1, calls: []string{"remediate --plan --format json"}, contains: []string{"/usr/bin/dpkg --purge kesl"}},
		{name: "check mode, another product",
			args:    []string{"testdata/remediate-local.yml", "--check", "-e", "avscout_remediate_product=kaspersky-network-agent"},
			answers: []stubagent.Response{{Match: []string{"--plan"}, Exit: 0, Stdout: planJSON}},
			changed: 0, calls: []string{"remediate --plan --format json"}},
		{name: "check mode, nothing found",
			args:    []string{"testdata/remediate-local.yml", "--check"},
			answers: []stubagent.Response{{Match: []string{"--plan"}, Exit: 0, Stdout: emptyPlanJSON}},
			changed: 0, calls: []string{"remediate --plan --format json"}, contains: []string{"no restricted product found"}},
		{name: "a product that is no catalog ID",
			args:    []string{"testdata/remediate-local.yml", "-e", `{"avscout_remediate_product": "kesl; rm -rf /"}`},
			answers: []stubagent.Response{{Exit: 0}},
			fail:    true, contains: []string{"avscout_remediate_product must be empty or a catalog product ID"}},
		{name: "off by default in the role",
			args: []string{"testdata/config-only.yml", "--tags", "remediate", "-e", "avscout_version=0.1.40",
				"-e", "avscout_collector_url=https://collector.example:8443"},
			answers: []stubagent.Response{{Exit: 0}},
			changed: 0},
		{name: "opted in through the role",
			args: []string{"testdata/config-only.yml", "--tags", "remediate", "-e", "avscout_version=0.1.40",
				"-e", "avscout_collector_url=https://collector.example:8443", "-e", "avscout_remediate=true"},
			answers: []stubagent.Response{{Match: []string{"--execute"}, Exit: 0, Stdout: "{}\n", Stderr: running}},
			changed: 1, calls: []string{execute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stubagent.Answer(t, agent, tc.answers...)
			args := append([]string{"-i", "localhost,", "-e", "avscout_binary=" + agent, "-e", noSystemd}, tc.args...)
			out, err := ansible(t, args...)
			if (err != nil) != tc.fail {
				t.Fatalf("ansible-playbook: %v (want failure %v)\n%s", err, tc.fail, out)
			}
			if !tc.fail && !regexp.MustCompile(`localhost\s*: ok=\d+\s+changed=`+strconv.Itoa(tc.changed)+` `).MatchString(out) {
				t.Errorf("want changed=%d:\n%s", tc.changed, out)
			}
			if got := stubagent.Joined(stubagent.Calls(t, agent)); !slices.Equal(got, tc.calls) {
				t.Errorf("agent calls %q, want %q\n%s", got, tc.calls, out)
			}
			for _, w := range tc.contains {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
