package units

import (
	"path"
	"strings"
)

// isWrapper reports whether a program (a base name) starts another one
// named in its arguments: shells, and the tools that change how a program
// runs. When a unit or a script runs one of them, the program it starts is
// the one that counts.
func isWrapper(s string) bool {
	switch s {
	case "sh", "bash", "dash", "ksh", "zsh", "busybox", "env", "nice", "ionice", "nohup", "setsid",
		"chrt", "taskset", "stdbuf", "timeout", "numactl", "cgexec", "runuser", "su", "sudo", "chroot",
		"flock", "exec", "start-stop-daemon", "daemon", "daemonize", "supervise-daemon":
		return true
	}
	return false
}

// ExecProgram returns the program the command line argv runs: its first
// word, or, when that is a wrapper (a shell with -c, env, nice,
// start-stop-daemon …), the first absolute path among the wrapper's
// arguments (a -c script's words included) that is no wrapper itself.
// It is "" when argv names no program it can tell: a wrapper running
// nothing absolute, or a word holding a variable or specifier ($X, %i)
// that only the running system expands.
func ExecProgram(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	prog := argv[0]
	if unexpanded(prog) || prog == "" {
		return ""
	}
	if !isWrapper(path.Base(prog)) {
		return prog
	}
	return wrapped(argv[1:], 0)
}

// wrapped finds the program among a wrapper's arguments.
func wrapped(args []string, depth int) string {
	for _, a := range args {
		if depth < 2 && strings.ContainsAny(a, " \t") {
			// sh -c "exec /opt/x/bin/y --flag": the script's words.
			if p := wrapped(shellWords(a), depth+1); p != "" {
				return p
			}
			continue
		}
		if strings.HasPrefix(a, "/") && !unexpanded(a) && !isWrapper(path.Base(a)) {
			return path.Clean(a)
		}
	}
	return ""
}

// unexpanded reports whether s holds something only the running system
// expands: a shell or unit variable, a unit specifier, a command
// substitution, a glob.
func unexpanded(s string) bool { return strings.ContainsAny(s, "$%`*?[") }

// searchPath is where systemd looks up a program named without a path
// (systemd.service(5), "Command lines"), in order.
var searchPath = []string{"usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin"}
