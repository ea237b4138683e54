// Package stubagent builds and drives a stand-in for the avscout agent, so
// that the tests of the MDM kit's remediation scripts (the Jamf policy
// script, the Ansible tasks) can check what the scripts pass to the agent
// and what they make of its output and exit code, without the real
// `remediate --execute` acting on the test machine.
package stubagent

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Response is what the stub answers to a call whose arguments include
// every word of Match (an empty Match answers any call).
type Response struct {
	Match  []string
	Exit   int
	Stdout string
	Stderr string
}

// Build compiles the stub into dir/name with the go binary goBin and
// returns its path.
func Build(t testing.TB, goBin, dir, name string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("stubagent: cannot find its own source")
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command(goBin, "build", "-o", bin, "./stub")
	cmd.Dir = filepath.Dir(file)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the agent stub: %v\n%s", err, out)
	}
	return bin
}

// Answer sets the stub's responses, first match wins, and forgets its
// calls.
func Answer(t testing.TB, bin string, rs ...Response) {
	t.Helper()
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin+".json", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bin + ".calls"); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// Calls returns the argument lists of the stub's calls since [Answer], in
// order.
func Calls(t testing.TB, bin string) [][]string {
	t.Helper()
	f, err := os.Open(bin + ".calls")
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var args []string
		if err := json.Unmarshal(sc.Bytes(), &args); err != nil {
			t.Fatalf("stub calls: %v", err)
		}
		calls = append(calls, args)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return calls
}

// Joined is calls as one line each, words separated by spaces, for
// comparing in tests.
func Joined(calls [][]string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = strings.Join(c, " ")
	}
	return out
}
