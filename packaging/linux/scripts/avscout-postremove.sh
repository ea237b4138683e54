#!/bin/sh
# avscout package: after removal (deb postrm, rpm %postun).
#
# Arguments: deb `remove`, `purge`, `upgrade <new-version>`… (Debian
# Policy 6.5); rpm the number of versions left, 0 on erase, 1 on upgrade.
# Purge (deb only; rpm has none) also deletes the configuration, the
# token and the state folder with its queued reports. rpm's erase keeps
# an edited config.yaml as config.yaml.rpmsave by itself.
set -e

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
	rm -rf /etc/avscout /var/lib/avscout
fi
exit 0
