#!/bin/sh
# avscout package: before removal (deb prerm, rpm %preun).
#
# Arguments: deb `remove`, `upgrade <new-version>`, `deconfigure`… (Debian
# Policy 6.5); rpm the number of versions left after this one, 0 on
# erase, 1 or more on upgrade. Only a removal stops and disables the
# service; an upgrade leaves it running for postinstall to restart.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

unit=avscout.service
command -v systemctl >/dev/null 2>&1 || exit 0
if [ -d /run/systemd/system ]; then
	systemctl stop "$unit" || true
fi
systemctl disable "$unit" >/dev/null 2>&1 || true
exit 0
