#!/usr/bin/env bash
# loadtest.sh runs the collector's load generator (BenchmarkLoad in
# internal/collector: the real server and store on loopback HTTP, 20
# connections posting gzip, Ed25519-signed ~10 KiB reports from 5,000
# hosts) RUNS times on SQLite and PostgreSQL, and prints each run and the
# median accepted/s, p50 and p99 of each dialect. PostgreSQL is the tests'
# throwaway server (internal/collector/store/pgtest, fsync off) unless
# AVSCOUT_TEST_POSTGRES names another.
#
#   scripts/loadtest.sh [RUNS]     (default 3)
#
# AVSCOUT_LOAD_COUNT, AVSCOUT_LOAD_CONNS and AVSCOUT_LOAD_HOSTS tune a
# run; see internal/collector/load_test.go.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
GO=$(scripts/ensure-go.sh)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for i in $(seq "$runs"); do
	"$GO" test -run '^$' -bench '^BenchmarkLoad$' -benchtime=1x -count=1 ./internal/collector/ |
		tee -a "$out" | grep -E '^BenchmarkLoad|load_test.go'
done
awk '/^BenchmarkLoad\// {
	d = $1; sub(/^BenchmarkLoad\//, "", d); sub(/-[0-9]+$/, "", d)
	for (i = 3; i < NF; i += 2) v[d, $(i + 1), ++n[d, $(i + 1)]] = $i
	ds[d] = 1
}
function median(d, m,   k, a, c, t, j) {
	c = n[d, m]
	for (k = 1; k <= c; k++) a[k] = v[d, m, k]
	for (k = 2; k <= c; k++) { t = a[k]; for (j = k - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}
END {
	for (d in ds) printf "median of %d runs, %s: %.0f accepted/s, p50 %.1f ms, p99 %.1f ms, errors %d\n",
		n[d, "accepted/s"], d, median(d, "accepted/s"), median(d, "p50-ms"), median(d, "p99-ms"), median(d, "errors")
}' "$out"
