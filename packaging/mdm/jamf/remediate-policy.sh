#!/bin/sh
# avscout - Jamf Pro policy script: removes the restricted products the
# agent finds on this Mac, by `avscout remediate --execute --yes`.
#
# Add it under Settings > Computer management > Scripts, then to a policy
# (Computers > Policies > Scripts) scoped to a Smart Group of pilot Macs
# first. Parameter 4 ("Product ID", optional): remove only the restricted
# product with this catalog ID, e.g. kaspersky-endpoint-security-mac;
# empty removes every restricted product found.
#
# The agent scans, runs the plan's steps in order (a scan after each,
# stopping at the first failure) and ends with a fresh scan. Nothing the
# collector sends can start this: only this policy, run by Jamf as root.
#
# Exit codes (the policy log shows the result line, and the policy fails
# unless the Mac is compliant):
#   0  the Mac is compliant at the end
#   1  still not compliant, or a step failed (its output is in the log),
#      or the agent is not installed
#   2  refused: a bad parameter 4, a product ID that is not restricted
#      here, or the agent could not scan
# The full run (plan, each step, the final result) is appended to
# /var/log/avscout-remediate.log (root, 0600); past 1 MiB it is moved to
# avscout-remediate.log.1 first.

AVSCOUT=/opt/avscout/bin/avscout
LOG=/var/log/avscout-remediate.log
LAUNCHCTL=/bin/launchctl

MAX_LOG_BYTES=1048576
MAX_RUN_BYTES=262144
# After a removal, how long to wait for the restarted service's first scan
# (it starts within its 2-minute splay) to clear the restricted status.
STATUS_WAIT_SECONDS=180
umask 077

product=${4:-}

log() {
	printf '%s\n' "$*" >>"$LOG" 2>/dev/null
}

size() {
	wc -c <"$1" | tr -d ' \t'
}

# Keep the log bounded: one older copy at most.
if [ -f "$LOG" ] && [ "$(size "$LOG")" -gt "$MAX_LOG_BYTES" ]; then
	mv -f "$LOG" "$LOG.1" 2>/dev/null || : >"$LOG"
fi
# Private even when an older file was not.
: >>"$LOG" 2>/dev/null && chmod 600 "$LOG" 2>/dev/null

# A catalog ID is lower-case letters, digits, dots and dashes: anything
# else is refused, never passed on (nor written to the log).
case "$product" in
*[!a-z0-9.-]* | [.-]*)
	log "=== $(date -u '+%Y-%m-%dT%H:%M:%SZ') REFUSED: parameter 4 is not a catalog product ID"
	echo "avscout remediate: REFUSED: parameter 4 is not a catalog product ID (lower-case letters, digits, dots, dashes)"
	exit 2
	;;
esac
log "=== $(date -u '+%Y-%m-%dT%H:%M:%SZ') avscout remediate --execute --yes${product:+ --product $product}"

if [ ! -x "$AVSCOUT" ]; then
	log "NOT INSTALLED: $AVSCOUT not found"
	echo "avscout remediate: NOT INSTALLED: $AVSCOUT not found"
	exit 1
fi

set -- remediate --execute --yes --format jamf
if [ -n "$product" ]; then
	set -- "$@" --product "$product"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/avscout-remediate.XXXXXX") || {
	echo "avscout remediate: ERROR: cannot create a temporary folder"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT

"$AVSCOUT" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
code=$?

# The plan and the steps (stderr) into the log, bounded per run.
if [ "$(size "$tmp/err")" -gt "$MAX_RUN_BYTES" ]; then
	log "[… the first part of this run's output is cut; its last $MAX_RUN_BYTES bytes follow]"
	tail -c "$MAX_RUN_BYTES" "$tmp/err" >>"$LOG" 2>/dev/null
else
	cat "$tmp/err" >>"$LOG" 2>/dev/null
fi
result=$(sed -n 's|^<result>\(.*\)</result>$|\1|p' "$tmp/out" | head -n 1)
[ -n "$result" ] || result="no report (see the log)"
log "result: $result"
log "exit code: $code"

# The service's status (what the extension attribute reads) is refreshed
# by its next scan: restarting it scans again within a few minutes.
if [ "$code" -le 1 ] && [ -x "$LAUNCHCTL" ]; then
	"$LAUNCHCTL" kickstart -k system/io.avscout.agent >/dev/null 2>&1
fi
# An inventory update straight after this policy reads that status: after
# a removal that worked, wait (bounded) until it no longer says restricted.
if [ "$code" -eq 0 ] && [ -x "$LAUNCHCTL" ]; then
	waited=0
	while [ "$waited" -lt "$STATUS_WAIT_SECONDS" ]; do
		case $("$AVSCOUT" status --format jamf 2>/dev/null) in
		*'<result>RESTRICTED'*) sleep 5 && waited=$((waited + 5)) ;;
		*) break ;;
		esac
	done
fi

# For the policy log: the run's last lines when it did not end compliant,
# then one summary line.
if [ "$code" -ne 0 ]; then
	tail -n 40 "$tmp/err"
fi
case "$code" in
0 | 1) echo "avscout remediate: $result (exit $code; log $LOG)" ;;
*)
	echo "avscout remediate: ERROR: the agent refused the request or could not scan (exit $code; log $LOG)"
	code=2
	;;
esac
exit "$code"
