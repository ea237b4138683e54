#!/usr/bin/env bash
# Installs what the tests need on Debian 12 and is quiet when it is all
# there already: the tools that build real package databases (dpkg-deb
# comes with dpkg; rpm brings rpm and rpmbuild; pacman-package-manager
# brings pacman, whose -U --root writes an Arch local database), plistutil for macOS
# fixtures, Wine (wine64 only: Debian 12's wine32 is not installable here)
# and the mingw-w64 cross compiler for the Windows tests, and a Go
# toolchain (scripts/ensure-go.sh); for the service and the collector:
# systemd-analyze (checks our unit file; systemd need not run), PostgreSQL
# (the collector's tests start a throwaway server) and Chromium (the
# dashboard's browser tests); for the release packages: wixl (builds the
# MSI) and msitools (reads and fixes its tables), libarchive-tools (bsdtar cross-checks the macOS pkg),
# busybox-static (the shell of the dpkg/rpm chroot test roots), ansible-core
# with python3-apt (the Ansible role's tests), openssl (throwaway
# code-signing certificates) and prlimit (util-linux: the hostile-input
# scans run under a memory limit), hivexregedit (libwin-hivex-perl:
# writes the registry hive files the offline Windows tests read), and time
# and procps (/usr/bin/time and ps, for `make bench-compare`), and sqlite3
# (scripts/rpm-bench-root.sh grows an rpm database for the 20,000-package
# comparison), qemu-user (runs the arm64 test of internal/pretouch's
# assembly), and gcc (builds the C program of the live test of a process
# whose main thread has exited).
#
# With --packaging it installs only what `make packages` needs to build
# the release artifacts: wixl, msitools and osslsigncode (the MSI and its
# signature), libplist-utils (the macOS launchd plist), git (versions),
# curl and unzip (a Go toolchain, if none fits).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case ${1:-} in
"") ;;
--packaging) mode=packaging ;;
*) echo "usage: scripts/install-deps.sh [--packaging]" >&2; exit 2 ;;
esac

# command → Debian package: what packaging needs
declare -A pkgs=(
	[wixl]=wixl
	[msibuild]=msitools
	[osslsigncode]=osslsigncode
	[plistutil]=libplist-utils
	[git]=git
	[make]=make
	[curl]=curl
	[unzip]=unzip
	[sha256sum]=coreutils
)
# file → Debian package, for what is not a command
declare -A files=()
# and what the tests need besides
[ "$mode" = packaging ] || pkgs+=(
	[rpm]=rpm
	[rpmbuild]=rpm
	[pacman]=pacman-package-manager
	[gcc]=gcc
	[wine]=wine
	[wineserver]=wine64
	[x86_64-w64-mingw32-gcc]=gcc-mingw-w64-x86-64-win32
	[flock]=util-linux
	[unshare]=util-linux
	[chromium]=chromium
	[systemd-analyze]=systemd
	[/usr/lib/postgresql/15/bin/initdb]=postgresql
	[msiinfo]=msitools
	[bsdtar]=libarchive-tools
	[busybox]=busybox-static
	[ansible-playbook]=ansible-core
	[openssl]=openssl
	[setpriv]=util-linux
	[prlimit]=util-linux
	[ps]=procps
	[sqlite3]=sqlite3
	[hivexregedit]=libwin-hivex-perl
	[qemu-aarch64]=qemu-user
)
[ "$mode" = packaging ] || files+=(
	[/usr/lib/python3/dist-packages/apt/__init__.py]=python3-apt
	[/usr/bin/time]=time
)
missing=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done
for f in "${!files[@]}"; do
	[ -e "$f" ] || missing+=("${files[$f]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

go=$(scripts/ensure-go.sh)
"$go" mod download
# nfpm, which builds the deb and rpm, is a tool in its own module.
(cd packaging/linux/nfpm && "$go" mod download)
# golangci-lint, pinned, for `make lint` (built once into .cache/bin).
[ "$mode" = packaging ] || scripts/ensure-golangci-lint.sh >/dev/null
