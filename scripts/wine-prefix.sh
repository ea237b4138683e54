#!/usr/bin/env bash
# Usage: scripts/wine-prefix.sh DIR
#
# Makes DIR a ready-to-use 64-bit Wine prefix for running Go Windows
# binaries (avscout.exe, `GOOS=windows go test` binaries) under Debian 12's
# Wine 8: a fresh `wineboot --init`, waited for until its wineserver has
# exited (services created right after an init are otherwise not seen by
# the running services.exe), plus the test-only bcryptprimitives.dll shim
# (scripts/wine/bcryptprimitives.c) that Go >= 1.22 needs and Wine 8 lacks.
# Idempotent: a prefix already made is left alone. Prints DIR.
#
# Needs wine (apt: wine wine64) and the mingw-w64 cross compiler
# (apt: gcc-mingw-w64-x86-64-win32); scripts/install-deps.sh installs both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: wine-prefix.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

for tool in wine wineboot wineserver x86_64-w64-mingw32-gcc; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "wine-prefix: $tool is missing: run scripts/install-deps.sh (apt: wine wine64 gcc-mingw-w64-x86-64-win32)" >&2
		exit 1
	}
done

export WINEPREFIX="$dir" WINEDEBUG=-all DISPLAY= WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="
sys32="$dir/drive_c/windows/system32"
if [ -f "$dir/.avscout-ready" ] && [ -f "$sys32/bcryptprimitives.dll" ]; then
	echo "$dir"
	exit 0
fi

# Build the shim next to the prefix, not in the source tree.
dll="$dir/.bcryptprimitives.dll"
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$dll" "$here/wine/bcryptprimitives.c" -Wl,--kill-at

wineboot --init >/dev/null 2>&1
wineserver -w
cp "$dll" "$sys32/bcryptprimitives.dll"
touch "$dir/.avscout-ready"
echo "$dir"
