#!/usr/bin/env bash
# hostile-bench.sh measures the agent on the hostile-input corpus
# (internal/hostile) at two revisions: for each case, `avscout scan
# --root` under a 256 MiB data limit (prlimit --data; util-linux), killed
# after a time limit. It prints per case and revision the wall time, peak
# RSS, exit code and how the run ended (exit, killed by the time limit,
# or crashed: a Go runtime out of memory exits 2 with "fatal error" on
# stderr).
#
#   scripts/hostile-bench.sh [BASE_REV] [TIME_LIMIT_S]     (default: main, 60)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-main}
limit=${2:-60}
GO=$(scripts/ensure-go.sh)
command -v prlimit >/dev/null || { echo "prlimit not found (Debian: util-linux)" >&2; exit 1; }
work=$(mktemp -d /tmp/hb.XXXXXX) # short: a socket path has at most 108 bytes
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --detach "$work/base" "$base" >/dev/null 2>&1
(cd "$work/base" && CGO_ENABLED=0 "$GO" build -trimpath -o "$work/avscout-base" ./cmd/agent)
CGO_ENABLED=0 "$GO" build -trimpath -o "$work/avscout-new" ./cmd/agent
"$GO" run ./internal/hostile/roots "$work/r" >"$work/cases"

# measure BIN ARGS… prints "ms kb code how": wall time, peak RSS (VmHWM
# of the process, sampled every millisecond: the rusage of a child that
# was started with vfork inherits its parent's peak), exit code, and how
# the run ended
measure() {
  python3 -c '
import subprocess, sys, time
limit = float(sys.argv[1])
t = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak, how = 0, "exit"
while p.poll() is None:
    try:
        with open("/proc/%d/status" % p.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    if time.monotonic() - t > limit:
        p.kill()
        p.wait()
        how = "killed"
        break
    time.sleep(0.001)
err = p.stderr.read()
if how == "exit" and (b"fatal error" in err or b"goroutine " in err):
    how = "crashed"
print(int((time.monotonic() - t) * 1000), peak, p.returncode, how)
' "$@"
}

printf '%-24s %-4s %8s %9s %5s %s\n' case rev wall_ms rss_kb exit end
while read -r name os dir _; do
  for v in base new; do
    read -r ms kb code how < <(measure "$limit" prlimit --data=268435456 "$work/avscout-$v" scan --root "$dir" --os "$os" --format json --fail-on restricted)
    printf '%-24s %-4s %8s %9s %5s %s\n' "$name" "$v" "$ms" "$kb" "$code" "$how"
  done
done <"$work/cases"
