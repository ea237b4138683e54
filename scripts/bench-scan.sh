#!/usr/bin/env bash
# bench-scan.sh compares whole-process scan times of the agent at two
# revisions, taking turns on the same machine so that load hits both alike:
# a live scan of this machine, and a --root scan of a synthetic Debian root
# holding 100,000 packages (one of them KESL). It prints the median wall
# time and peak RSS of each.
#
#   scripts/bench-scan.sh [BASE_REV] [RUNS]     (default: HEAD~1, 15)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD~1}
runs=${2:-15}
GO=$(scripts/ensure-go.sh)
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --detach "$work/base" "$base" >/dev/null 2>&1
(cd "$work/base" && CGO_ENABLED=0 "$GO" build -trimpath -o "$work/avscout-base" ./cmd/agent)
CGO_ENABLED=0 "$GO" build -trimpath -o "$work/avscout-new" ./cmd/agent

root="$work/root"
mkdir -p "$root/var/lib/dpkg" "$root/etc"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$root/etc/os-release"
awk 'BEGIN {
  for (i = 0; i < 100000; i++) {
    printf "Package: libbench%d\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 120\nMaintainer: Debian Library Maintainers <debian-lib@lists.debian.org>\nArchitecture: amd64\nVersion: 1.%d-1\nDescription: synthetic package %d\n\n", i, i, i
    if (i == 50000) printf "Package: kesl\nStatus: install ok installed\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\nArchitecture: amd64\nVersion: 12.1.0-2968\nDescription: Kaspersky Endpoint Security for Linux\n\n"
  }
}' >"$root/var/lib/dpkg/status"

# measure BIN ARGS… prints "ms kb cpu_ms" of one run: wall time, peak RSS
# and CPU time (user + system; less disturbed by other load than wall time)
# (python3 rather than /usr/bin/time, which a fresh Debian lacks)
measure() {
  python3 -c '
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ms = (time.monotonic() - t) * 1000
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(int(ms), ru.ru_maxrss, int((ru.ru_utime + ru.ru_stime) * 1000))
' "$@"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for job in live root; do
  for v in base new; do : >"$work/$job-$v"; done
  for ((i = 0; i < runs; i++)); do
    order="base new"
    ((i % 2)) && order="new base" # whichever runs second in a pair pays for the first's cache misses
    for v in $order; do
      if [ $job = live ]; then
        measure "$work/avscout-$v" scan --format json >>"$work/$job-$v"
      else
        measure "$work/avscout-$v" scan --root "$root" --format json >>"$work/$job-$v"
      fi
    done
  done
  for v in base new; do
    printf '%-5s %-4s median %5s ms wall %5s ms CPU  peak RSS %6s KB\n' "$job" "$v" \
      "$(cut -d' ' -f1 "$work/$job-$v" | median)" "$(cut -d' ' -f3 "$work/$job-$v" | median)" \
      "$(cut -d' ' -f2 "$work/$job-$v" | median)"
  done
done
