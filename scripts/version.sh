#!/usr/bin/env bash
# Usage: scripts/version.sh [full|package]
#
# The version of this checkout, stamped into binaries and packages.
# Releases are tagged vMAJOR.MINOR (or vMAJOR.MINOR.PATCH); between tags
# the build number is the count of commits on the branch, so every commit
# on main has a larger version than the one before it — which is what
# dpkg, rpm, Windows Installer (only the first three fields count for a
# major upgrade) and macOS Installer compare.
#
#   package  MAJOR.MINOR.BUILD, numeric (e.g. 0.1.97): deb, rpm, MSI, pkg
#   full     the package version, the commit and a dirty mark
#            (e.g. 0.1.97+g9bd243b.dirty): `avscout version`, reports
#
# Without git (a source tarball) the version is 0.0.0.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-full}

major=0 minor=1 build=0 commit="" dirty=""
if git rev-parse --git-dir >/dev/null 2>&1; then
	if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*' 2>/dev/null); then
		IFS=. read -r major minor _ <<<"${tag#v}"
	fi
	build=$(git rev-list --count HEAD 2>/dev/null || echo 0)
	commit=$(git rev-parse --short=7 HEAD 2>/dev/null || true)
	git diff --quiet HEAD -- 2>/dev/null || dirty=.dirty
else
	major=0 minor=0
fi
pkg="$major.$minor.$build"
case $what in
package) echo "$pkg" ;;
full) echo "$pkg${commit:++g$commit}$dirty" ;;
*) echo "usage: version.sh [full|package]" >&2; exit 2 ;;
esac
