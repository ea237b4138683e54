#!/usr/bin/env bash
# Usage: scripts/packages.sh   (what `make packages` runs, after `make cross`)
#
# Builds every release artifact from the binaries in BIN (default dist/,
# written by `make cross`) into OUT (default dist/release):
#   deb and rpm of the agent and the collector (amd64, arm64)  packaging/linux/build.sh
#   the Windows MSI, and the signed avscout.exe                packaging/windows/build.sh
#   the macOS flat package (universal binary, launchd daemon)  packaging/macos/build.sh
#   the bare binaries, for manual use and `--root` scans
# then, for every artifact, a CycloneDX SBOM (<artifact>.cdx.json, from the
# Go build information of the binaries inside: packaging/sbom) and one
# SHA256SUMS file over all of them.
#
# Versions come from git (scripts/version.sh). Authenticode signing of the
# Windows artifacts happens when SIGN_CERT and SIGN_KEY name a PEM
# certificate and key (SIGN_TIMESTAMP_URL adds an RFC 3161 timestamp).
# SOURCE_DATE_EPOCH (default: the last commit's time) fixes every
# timestamp, so the same commit builds the same packages.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

BIN=$(cd "${BIN:-dist}" && pwd)
OUT=${OUT:-dist/release}
VERSION=${VERSION:-$(scripts/version.sh full)}
PKG_VERSION=${PKG_VERSION:-$(scripts/version.sh package)}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export BIN VERSION PKG_VERSION SOURCE_DATE_EPOCH
go=$(scripts/ensure-go.sh)

rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export OUT

step() {
	local t0=$SECONDS
	echo "packages: $1" >&2
	shift
	"$@"
	echo "packages:   done in $((SECONDS - t0)) s" >&2
}
# The MSI's install helper, a Go binary too: built here so that its SBOM
# entry is the binary the MSI holds.
if [ ! -f "$BIN/avscout-msi-setup-windows-amd64.exe" ]; then
	echo "packages: the MSI's install helper" >&2
	(cd "$repo" && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$go" build -trimpath -ldflags "-s -w -H windowsgui" \
		-o "$BIN/avscout-msi-setup-windows-amd64.exe" ./packaging/windows/msisetup)
fi

step "Linux deb and rpm" packaging/linux/build.sh
step "Windows MSI" packaging/windows/build.sh
step "macOS pkg" packaging/macos/build.sh
# The bare binaries; the Windows build leaves its signed avscout.exe in
# OUT, which stays.
for f in "$BIN"/avscout-*-*; do
	case ${f##*/} in *.cdx.json | avscout-msi-setup-*) continue ;; esac
	[ -e "$OUT/${f##*/}" ] || cp "$f" "$OUT/"
done

# The Go binaries inside an artifact, for its SBOM.
binaries_of() {
	local name=$1 arch
	case $name in
	*amd64* | *x86_64*) arch=amd64 ;;
	*arm64* | *aarch64*) arch=arm64 ;;
	esac
	case $name in
	avscout-collector_*.deb | avscout-collector-*.rpm) echo "$BIN/avscout-collector-linux-$arch" ;;
	avscout_*.deb | avscout-*.rpm) echo "$BIN/avscout-linux-$arch" ;;
	*.msi) echo "$OUT/avscout-windows-amd64.exe" "$BIN/avscout-msi-setup-windows-amd64.exe" ;;
	*.pkg) echo "$BIN/avscout-darwin-amd64" "$BIN/avscout-darwin-arm64" ;;
	avscout-*) echo "$OUT/$name" ;; # a bare binary is its own content
	esac
}
echo "packages: an SBOM for each artifact, and SHA256SUMS" >&2
(cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -o "$OUT/.sbom" ./packaging/sbom)
for f in "$OUT"/*; do
	name=${f##*/}
	read -ra bins <<<"$(binaries_of "$name")"
	[ ${#bins[@]} -gt 0 ] || { echo "packages: $name: which binaries are inside is not known" >&2; exit 1; }
	args=()
	for b in "${bins[@]}"; do args+=(-binary "$b"); done
	"$OUT/.sbom" -artifact "$f" -version "$PKG_VERSION" "${args[@]}" >"$f.cdx.json"
done
rm -f "$OUT/.sbom"
(cd "$OUT" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)

echo "packages: $VERSION in $OUT" >&2
(cd "$OUT" && find . -maxdepth 1 -type f ! -name '*.cdx.json' -printf '%f %s\n' | LC_ALL=C sort |
	awk '{ printf "  %-48s %7.1f MB\n", $1, $2 / 1048576 }') >&2
