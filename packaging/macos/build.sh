#!/usr/bin/env bash
# Builds the macOS installer package OUT/avscout-<PKG_VERSION>.pkg on Linux
# (pure Go, packaging/macos/mkpkg): a universal agent binary, the launchd
# daemon plist and the install scripts. The package is unsigned but ready
# for productsign / rcodesign on a release machine (README-macos.md).
#
# env: BIN          folder with avscout-darwin-amd64, avscout-darwin-arm64
#                   and avscout-linux-<build machine arch> (prints the launchd plist)
#      OUT          output folder
#      PKG_VERSION  numeric MAJOR.MINOR.BUILD (scripts/version.sh package)
#      VERSION      full version, logged only (scripts/version.sh full)
#      SOURCE_DATE_EPOCH  mtime of every entry (default: the last commit's time)
# Same inputs and SOURCE_DATE_EPOCH → byte-identical package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${BIN:?set BIN to the folder of release binaries}" "${OUT:?set OUT to the output folder}"
: "${PKG_VERSION:?set PKG_VERSION (scripts/version.sh package)}"
VERSION=${VERSION:-$PKG_VERSION}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)
fi
go=$("$repo/scripts/ensure-go.sh")
host=avscout-linux-$("$go" env GOHOSTARCH)
for f in avscout-darwin-amd64 avscout-darwin-arm64 "$host"; do
	[ -f "$BIN/$f" ] || { echo "build.sh: $BIN/$f missing (make cross)" >&2; exit 1; }
done
command -v plistutil >/dev/null || { echo "build.sh: plistutil missing (apt-get install libplist-utils)" >&2; exit 1; }
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s%N)
(cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -o "$tmp/mkpkg" ./packaging/macos/mkpkg)

# The launchd plist is exactly what `avscout service install` writes
# (`service unit` renders the same template with the same engine).
plist=$tmp/io.avscout.agent.plist
"$BIN/$host" service unit --init launchd --path /opt/avscout/bin/avscout >"$plist" ||
	{ echo "build.sh: $BIN/$host service unit --init launchd failed" >&2; exit 1; }
plistutil -i "$plist" -o /dev/null || { echo "build.sh: $plist is not a valid property list" >&2; exit 1; }

pkg="$OUT/avscout-$PKG_VERSION.pkg"
"$tmp/mkpkg" -amd64 "$BIN/avscout-darwin-amd64" -arm64 "$BIN/avscout-darwin-arm64" -plist "$plist" \
	-scripts "$here/scripts" -version "$PKG_VERSION" -epoch "$SOURCE_DATE_EPOCH" -out "$pkg"
ms=$((($(date +%s%N) - start) / 1000000))
echo "build.sh: $pkg ($VERSION, $(stat -c %s "$pkg") bytes, ${ms} ms)" >&2
