#!/bin/sh
# avscout-collector package: after removal (deb postrm, rpm %postun;
# arguments as in avscout-postremove.sh). Purge (deb only) deletes the
# configuration folder with the certificate and admin token, and the
# database: systemd keeps a DynamicUser's state under /var/lib/private
# (systemd.exec(5), StateDirectory=).
set -e

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
	rm -rf /etc/avscout-collector /var/lib/avscout-collector /var/lib/private/avscout-collector
fi
exit 0
