#!/bin/sh
# avscout-collector package: before removal (deb prerm, rpm %preun;
# arguments as in avscout-preremove.sh). Only a removal stops and
# disables the service.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

unit=avscout-collector.service
command -v systemctl >/dev/null 2>&1 || exit 0
if [ -d /run/systemd/system ]; then
	systemctl stop "$unit" || true
fi
systemctl disable "$unit" >/dev/null 2>&1 || true
exit 0
