#!/bin/sh
# avscout-collector package: after install or upgrade (deb postinst, rpm
# %post; arguments as in avscout-postinstall.sh).
#
# The collector is never started by the package: it needs a TLS
# certificate and an admin token first. An upgrade restarts it only if it
# was running.
set -e

case "$1" in
configure) upgrade=${2:+yes} ;;
1) upgrade= ;;
[2-9] | [1-9][0-9]*) upgrade=yes ;;
*) exit 0 ;;
esac

unit=avscout-collector.service
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
	if [ -n "$upgrade" ]; then
		systemctl try-restart "$unit" || echo "avscout-collector: restarting $unit failed: see journalctl -u avscout-collector"
	fi
fi
if [ -z "$upgrade" ]; then
	echo "avscout-collector: not started. Put tls.crt, tls.key and admin-token (mode 0600) in /etc/avscout-collector, set the listen address in /etc/default/avscout-collector, then run: systemctl enable --now avscout-collector"
fi
exit 0
