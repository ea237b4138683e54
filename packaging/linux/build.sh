#!/usr/bin/env bash
# Builds the Linux packages of the agent and the collector, deb and rpm,
# for amd64 and arm64, with nfpm (github.com/goreleaser/nfpm, pure Go).
#
# Environment (the shared artifact-build interface, see scripts/packages.sh):
#   BIN          folder of release binaries: avscout-linux-<arch> and
#                avscout-collector-linux-<arch> (what `make cross` writes)
#   OUT          folder the packages go to (created)
#   VERSION      full version, e.g. 0.1.40+g9bd243b (named in the description)
#   PKG_VERSION  package version MAJOR.MINOR.BUILD, e.g. 0.1.40
#   ARCHES       optional, default "amd64 arm64"
#   AGENT_CONFIG optional: the default /etc/avscout/config.yaml the agent
#                package ships (default packaging/config.example.yaml;
#                a site can ship its collector URL this way)
#   GO           optional go binary (default: scripts/ensure-go.sh)
#
# Writes avscout_<v>_<arch>.deb, avscout-<v>-1.<rpmarch>.rpm and the same
# for avscout-collector. The packages are reproducible: every timestamp
# is SOURCE_DATE_EPOCH, which defaults to the commit time of HEAD.
#
# nfpm lives in its own module (packaging/linux/nfpm/go.mod, a `tool`
# directive pinning v2.45.2), so that its many dependencies stay out of
# the agent's module graph; the Go build cache makes the second build of
# it instant.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

die() {
	echo "packaging/linux/build.sh: $*" >&2
	exit 1
}

[ -n "${BIN:-}" ] || die "BIN is not set (the folder of the release binaries)"
[ -d "$BIN" ] || die "BIN=$BIN: no such folder"
BIN=$(cd "$BIN" && pwd)
[ -n "${OUT:-}" ] || die "OUT is not set (the folder the packages go to)"
[ -n "${PKG_VERSION:-}" ] || die "PKG_VERSION is not set (MAJOR.MINOR.BUILD, e.g. 0.1.40)"
[ -n "${VERSION:-}" ] || die "VERSION is not set (the full version, e.g. 0.1.40+g9bd243b)"
[[ $PKG_VERSION =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
	die "PKG_VERSION=$PKG_VERSION: want MAJOR.MINOR.BUILD, three numbers"
[[ $VERSION == "$PKG_VERSION" || $VERSION == "$PKG_VERSION+"* ]] ||
	die "VERSION=$VERSION does not start with PKG_VERSION=$PKG_VERSION"
[[ $VERSION =~ ^[0-9A-Za-z.+~-]+$ ]] || die "VERSION=$VERSION: only letters, digits and . + ~ - allowed"
arches=${ARCHES:-amd64 arm64}
AGENT_CONFIG=${AGENT_CONFIG:-$src/packaging/config.example.yaml}
[ -f "$AGENT_CONFIG" ] || die "AGENT_CONFIG=$AGENT_CONFIG: no such file"
AGENT_CONFIG=$(cd "$(dirname "$AGENT_CONFIG")" && pwd)/$(basename "$AGENT_CONFIG")
for arch in $arches; do
	case $arch in
	amd64 | arm64) ;;
	*) die "ARCHES: $arch: want amd64 or arm64" ;;
	esac
	for name in avscout avscout-collector; do
		f=$BIN/$name-linux-$arch
		[ -f "$f" ] || die "$f: missing (build it with make cross)"
		[ -x "$f" ] || die "$f: not executable"
	done
done

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$src" log -1 --format=%ct 2>/dev/null || true)
fi
[ -z "${SOURCE_DATE_EPOCH:-}" ] || export SOURCE_DATE_EPOCH
go=${GO:-$("$src/scripts/ensure-go.sh")}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

(cd "$here/nfpm" && "$go" build -o "$stage/nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm) ||
	die "building nfpm (module packaging/linux/nfpm) failed"

# The systemd unit is what `avscout service install` would write for
# /usr/bin/avscout, printed by the agent itself from its template. It is
# the same for every architecture; the binary that runs here renders it.
case $(uname -m) in
aarch64 | arm64) host=arm64 ;;
*) host=amd64 ;;
esac
renderer=$BIN/avscout-linux-$host
[ -x "$renderer" ] || renderer=$BIN/avscout-linux-$(set -- $arches && echo "$1")
"$renderer" service unit --init systemd --path /usr/bin/avscout >"$stage/avscout.service" ||
	die "$renderer service unit --init systemd failed"
grep -q '^ExecStart=/usr/bin/avscout "service" "run"$' "$stage/avscout.service" ||
	die "the rendered unit has no ExecStart=/usr/bin/avscout \"service\" \"run\""

export SRC=$src STAGE=$stage PKG_VERSION VERSION AGENT_CONFIG
for arch in $arches; do
	export ARCH=$arch
	export AGENT_BIN=$BIN/avscout-linux-$arch COLLECTOR_BIN=$BIN/avscout-collector-linux-$arch
	case $arch in
	amd64) rpmarch=x86_64 ;;
	arm64) rpmarch=aarch64 ;;
	esac
	for name in avscout avscout-collector; do
		echo "packaging/linux: $name $arch (deb, rpm)" >&2
		# Relative script paths in the configs are relative to here.
		(cd "$here" &&
			"$stage/nfpm" package --config "$name.yaml" --packager deb \
				--target "$OUT/${name}_${PKG_VERSION}_$arch.deb" >/dev/null &&
			"$stage/nfpm" package --config "$name.yaml" --packager rpm \
				--target "$OUT/$name-$PKG_VERSION-1.$rpmarch.rpm" >/dev/null) ||
			die "nfpm: packaging $name for $arch failed"
	done
done
ls -l "$OUT"/*.deb "$OUT"/*.rpm | awk '{printf "%-44s %6.1f MB\n", $9, $5/1048576}' | sed "s|$OUT/||"
