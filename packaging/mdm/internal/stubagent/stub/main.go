// Command stub stands in for the avscout agent in the tests of the MDM
// kit's remediation scripts, which cannot run the real
// `remediate --execute` on the test machine (it would act on the machine
// itself). It appends its arguments, one JSON array a line, to
// <its path>.calls, then answers with the first response of
// <its path>.json whose words all appear among its arguments: that
// response's standard output, standard error and exit code. See package
// stubagent.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

type response struct {
	Match  []string
	Exit   int
	Stdout string
	Stderr string
}

func main() { os.Exit(run()) }

func run() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "stub: %v\n", err)
		return 99
	}
	line, err := json.Marshal(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "stub: %v\n", err)
		return 99
	}
	f, err := os.OpenFile(self+".calls", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stub: %v\n", err)
		return 99
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "stub: %v\n", err)
		return 99
	}
	b, err := os.ReadFile(self + ".json")
	if err != nil {
		fmt.Fprintf(os.Stderr, "stub: %v\n", err)
		return 99
	}
	var rs []response
	if err := json.Unmarshal(b, &rs); err != nil {
		fmt.Fprintf(os.Stderr, "stub: %s.json: %v\n", self, err)
		return 99
	}
	for _, r := range rs {
		if !containsAll(os.Args[1:], r.Match) {
			continue
		}
		os.Stdout.WriteString(r.Stdout)
		os.Stderr.WriteString(r.Stderr)
		return r.Exit
	}
	fmt.Fprintf(os.Stderr, "stub: no response for %q\n", os.Args[1:])
	return 99
}

func containsAll(args, words []string) bool {
	for _, w := range words {
		if !slices.Contains(args, w) {
			return false
		}
	}
	return true
}
