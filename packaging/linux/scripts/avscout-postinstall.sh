#!/bin/sh
# avscout package: after install or upgrade (deb postinst, rpm %post).
#
# Arguments: deb `configure [<old-version>]` (Debian Policy 6.5, old
# version given on upgrade); rpm the number of versions installed after
# this one, 1 on install, 2 or more on upgrade (RPM Packaging Guide,
# "Triggers and scriptlets").
#
# The service is enabled and started (restarted on upgrade) only when a
# collector is configured: without one it would scan for nothing. The
# agent itself reads the configuration (`avscout config show`), so the
# file, /etc/default/avscout and managed settings count exactly as they
# will for the service. Without systemd running (a chroot, a container,
# an image build) the unit is only enabled, and systemctl missing
# altogether is no error either.
set -e

case "$1" in
configure) upgrade=${2:+yes} ;;
1) upgrade= ;;
[2-9] | [1-9][0-9]*) upgrade=yes ;;
*) exit 0 ;; # deb abort-upgrade, abort-remove…: nothing was stopped
esac

unit=avscout.service
have_systemctl() { command -v systemctl >/dev/null 2>&1; }
# sd_booted(3): systemd is the running init when /run/systemd/system exists.
systemd_running() { [ -d /run/systemd/system ]; }

if systemd_running; then
	systemctl daemon-reload || true
fi

# /etc/default/avscout is the unit's EnvironmentFile (KEY=value lines):
# its collector URL counts too.
if [ -r /etc/default/avscout ]; then
	env_url=$(sed -n 's/^[[:space:]]*AVSCOUT_COLLECTOR_URL=//p' /etc/default/avscout | tail -n 1 | tr -d "\"'")
	if [ -n "$env_url" ]; then
		AVSCOUT_COLLECTOR_URL=$env_url
		export AVSCOUT_COLLECTOR_URL
	fi
fi
if ! shown=$(/usr/bin/avscout config show 2>&1); then
	echo "avscout: the service was not started, the configuration is not valid: $(printf '%s\n' "$shown" | tail -n 1)"
	exit 0
fi
# `config show` prints "  url: VALUE # origin" under collector:, and
# `url: "" # default` when none is set.
url=$(printf '%s\n' "$shown" | sed -n 's/^  url: \([^" #][^ ]*\).*/\1/p' | head -n 1)
if [ -z "$url" ]; then
	echo "avscout: no collector configured, the service was not started. Set collector.url and collector.token_file in /etc/avscout/config.yaml, then run: systemctl enable --now avscout"
	exit 0
fi

if ! have_systemctl; then
	echo "avscout: collector $url configured, but systemctl is missing: start '/usr/bin/avscout service run' with this system's service manager"
	exit 0
fi
# A masked unit stays masked: enable fails and the install goes on.
systemctl enable "$unit" >/dev/null 2>&1 || echo "avscout: could not enable $unit (masked?)"
if systemd_running; then
	if [ -n "$upgrade" ]; then
		systemctl restart "$unit" || echo "avscout: restarting $unit failed: see journalctl -u avscout"
	else
		systemctl start "$unit" || echo "avscout: starting $unit failed: see journalctl -u avscout"
	fi
else
	echo "avscout: systemd is not running here; $unit is enabled and starts at the next boot"
fi
exit 0
