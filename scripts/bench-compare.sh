#!/usr/bin/env bash
# bench-compare.sh measures the release agent against the tools it replaces
# (issue #17's table), whole processes, on this machine:
#
#   live      avscout scan                        vs  dpkg-query -W; ps -e
#   dpkg100k  avscout scan --root R (100,000 pkgs) vs  dpkg-query -W --admindir R/var/lib/dpkg
#   rpm       avscout scan --root R (~400 pkgs)    vs  rpm -qa --root R
#   procs     avscout scan --sources processes    vs  ps -e
#   empty     avscout scan --root EMPTY --os linux vs  avscout version
#
# Each comparison alternates the two sides (A B, B A, …) RUNS times so that
# load hits both alike, and prints min/median/max wall time, median CPU
# time, median peak RSS (/usr/bin/time -f %M) and the ratio of the medians
# (avscout / peer). The roots are built with the real dpkg and rpm; nothing
# uses the network.
#
#   scripts/bench-compare.sh [RUNS]      (default 15; or RUNS=… in the environment)
#   ONLY="rpm empty" scripts/bench-compare.sh   runs only those comparisons
#   BIN=path/to/avscout scripts/bench-compare.sh measures that build instead
#
# `make bench-compare` passes the release build's GO and LDFLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${RUNS:-15}}
only=${ONLY:-live dpkg100k rpm procs empty}
GO=${GO:-$(scripts/ensure-go.sh)}
LDFLAGS=${LDFLAGS:--s -w -X main.version=$(scripts/version.sh full)}
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH" LC_ALL=C
for tool in dpkg dpkg-deb dpkg-query rpm rpmbuild ps /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench-compare: $tool not found; run scripts/install-deps.sh" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$work/avscout
if [ -n "${BIN:-}" ]; then
	cp "$BIN" "$bin" # another build, for a before/after comparison
else
	echo "bench-compare: building the release binary" >&2
	CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$LDFLAGS" -o "$bin" ./cmd/agent
fi

# A Debian root with 100,000 packages: synthetic records, then the real
# dpkg installs one more package (built by dpkg-deb), which makes it
# rewrite the whole status file in its own format.
build_dpkg_root() {
	local root=$1 admin=$1/var/lib/dpkg deb=$work/deb
	mkdir -p "$admin/info" "$admin/updates" "$admin/triggers" "$root/etc"
	printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$root/etc/os-release"
	awk 'BEGIN {
	  for (i = 0; i < 99999; i++)
	    printf "Package: libbench%d\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 120\nMaintainer: Debian Library Maintainers <debian-lib@lists.debian.org>\nArchitecture: all\nVersion: 1.%d-1\nDescription: synthetic package %d\n\n", i, i, i
	}' >"$admin/status"
	mkdir -p "$deb/DEBIAN" "$deb/opt/kaspersky/kesl/bin"
	printf '#!/bin/sh\n' >"$deb/opt/kaspersky/kesl/bin/kesl"
	printf 'Package: kesl\nVersion: 12.1.0-2968\nArchitecture: all\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\nDescription: Kaspersky Endpoint Security for Linux\n' >"$deb/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$deb" "$work/kesl.deb" >/dev/null
	dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-not-root --force-unsafe-io -i "$work/kesl.deb" >/dev/null 2>&1 # warns of each synthetic package's missing files list
}

# An rpm root with 400 noarch packages in rpm's sqlite database: one spec
# with 399 subpackages plus a KESL one, built by rpmbuild and recorded by
# rpm --root --justdb.
build_rpm_root() {
	local root=$1 top=$work/rpmbuild spec=$work/bench.spec
	mkdir -p "$top"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS} "$root/var/lib/rpm" "$root/etc"
	printf 'ID=rhel\nVERSION_ID="9"\nPRETTY_NAME="Red Hat Enterprise Linux 9"\n' >"$root/etc/os-release"
	{
		printf 'Name: rpmbench\nVersion: 1.0\nRelease: 1\nSummary: rpm benchmark root\nLicense: none\nBuildArch: noarch\n'
		printf '%%description\nrpm benchmark root\n%%files\n'
		for ((i = 0; i < 398; i++)); do
			printf '%%package -n libbench%d\nSummary: synthetic package %d\nVendor: Bench Vendor\n%%description -n libbench%d\nsynthetic package %d\n%%files -n libbench%d\n' $i $i $i $i $i
		done
		printf '%%package -n kesl\nVersion: 12.1.0.2968\nSummary: Kaspersky Endpoint Security for Linux\nVendor: AO Kaspersky Lab\n%%description -n kesl\nKaspersky Endpoint Security for Linux\n%%files -n kesl\n'
	} >"$spec"
	rpmbuild --define "_topdir $top" --define '__os_install_post %{nil}' --define 'debug_package %{nil}' \
		--define '_build_id_links none' --quiet -bb "$spec" >/dev/null
	rpm --root "$root" --dbpath /var/lib/rpm --define '_db_backend sqlite' \
		-i --nodeps --noscripts --justdb --ignorearch --ignoreos "$top"/RPMS/noarch/*.rpm 2>/dev/null # Debian's "use Alien" notice
}

# cpu_us FILE prints the CPU time (user + system) of the shell's finished
# children that the builtin times wrote to FILE, in microseconds (1 ms
# resolution; /usr/bin/time's %U %S have 10 ms).
cpu_us() {
	awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%d", n * 1e6 }' "$1"
}

# measure OUT CMD… appends "wall_ms cpu_ms rss_kb" of one run of CMD; a
# CMD of "a ; b" (the literal word ";") runs a then b and sums them.
# Between the two readings of the clock and of times this shell starts
# nothing but /usr/bin/time (EPOCHREALTIME and times are builtins), whose
# own CPU time counts alike for both sides.
measure() {
	local out=$1 t0 t1 wall=0 cpu=0 rss=0 m
	shift
	local -a cmd=()
	while :; do
		cmd=()
		while [ $# -gt 0 ] && [ "$1" != ";" ]; do cmd+=("$1"); shift; done
		times >"$work/times0"
		t0=${EPOCHREALTIME/./}
		/usr/bin/time -f '%M' -o "$work/time" "${cmd[@]}" >/dev/null 2>&1 || true
		t1=${EPOCHREALTIME/./}
		times >"$work/times1"
		m=$(tail -n 1 "$work/time") # after any "Command exited with non-zero status"
		wall=$((wall + t1 - t0))
		cpu=$((cpu + $(cpu_us "$work/times1") - $(cpu_us "$work/times0")))
		((m > rss)) && rss=$m
		[ $# -gt 0 ] || break
		shift # the ";"
	done
	awk -v w="$wall" -v c="$cpu" -v r="$rss" 'BEGIN { printf "%.1f %.1f %d\n", w / 1000, c / 1000, r }' >>"$out"
}
stat_col() { # FILE COL → "min median max"
	cut -d' ' -f"$2" "$1" | sort -n | awk '{ a[NR] = $1 } END { printf "%s %s %s", a[1], a[int((NR + 1) / 2)], a[NR] }'
}

# compare NAME -- AVSCOUT_CMD… -- PEER_CMD…
compare() {
	local name=$1 i
	shift 2
	local -a a=() b=()
	while [ "$1" != "--" ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	: >"$work/a" && : >"$work/b"
	"${a[@]}" >/dev/null 2>&1 || true # warm the page cache for both
	"${b[@]}" >/dev/null 2>&1 || true
	for ((i = 0; i < runs; i++)); do
		if ((i % 2)); then
			measure "$work/b" "${b[@]}"
			measure "$work/a" "${a[@]}"
		else
			measure "$work/a" "${a[@]}"
			measure "$work/b" "${b[@]}"
		fi
	done
	local -a aw bw
	a=("${a[@]//$work/\$T}") b=("${b[@]//$work/\$T}")
	read -r -a aw <<<"$(stat_col "$work/a" 1)"
	read -r -a bw <<<"$(stat_col "$work/b" 1)"
	printf '\n== %s (%d runs each, alternating; $T is a temporary directory)\n' "$name" "$runs"
	printf '  %-52s wall min/med/max %7s %7s %7s ms  CPU med %6s ms  peak RSS med %7s KB\n' \
		"${a[*]:0:6}" "${aw[@]}" "$(stat_col "$work/a" 2 | cut -d' ' -f2)" "$(stat_col "$work/a" 3 | cut -d' ' -f2)"
	printf '  %-52s wall min/med/max %7s %7s %7s ms  CPU med %6s ms  peak RSS med %7s KB\n' \
		"${b[*]:0:6}" "${bw[@]}" "$(stat_col "$work/b" 2 | cut -d' ' -f2)" "$(stat_col "$work/b" 3 | cut -d' ' -f2)"
	awk -v a="${aw[1]}" -v b="${bw[1]}" -v ac="$(stat_col "$work/a" 2 | cut -d' ' -f2)" -v bc="$(stat_col "$work/b" 2 | cut -d' ' -f2)" \
		'BEGIN { printf "  ratio of medians (avscout / peer): wall %.2f", a / b; if (bc > 0) printf ", CPU %.2f", ac / bc; print "" }'
}

for job in $only; do
	case $job in
	live)
		compare "live Linux scan" -- "$bin" scan -- dpkg-query -W ";" ps -e ;;
	dpkg100k)
		echo "bench-compare: building a 100,000-package dpkg root" >&2
		build_dpkg_root "$work/dpkgroot"
		n=$(dpkg-query -W --admindir="$work/dpkgroot/var/lib/dpkg" | wc -l)
		echo "bench-compare: dpkg-query sees $n packages" >&2
		compare "100,000 dpkg packages ($n)" -- "$bin" scan --root "$work/dpkgroot" -- \
			dpkg-query -W --admindir="$work/dpkgroot/var/lib/dpkg"
		rm -rf "$work/dpkgroot" ;;
	rpm)
		echo "bench-compare: building a 400-package rpm root" >&2
		build_rpm_root "$work/rpmroot"
		n=$(rpm -qa --root "$work/rpmroot" --dbpath /var/lib/rpm | wc -l)
		echo "bench-compare: rpm -qa sees $n packages" >&2
		compare "rpm root, sqlite ($n packages)" -- "$bin" scan --root "$work/rpmroot" -- \
			rpm -qa --root "$work/rpmroot" --dbpath /var/lib/rpm ;;
	procs)
		compare "processes only" -- "$bin" scan --sources processes -- ps -e ;;
	empty)
		mkdir -p "$work/empty"
		compare "scan of an empty root" -- "$bin" scan --root "$work/empty" --os linux -- "$bin" version ;;
	*) echo "bench-compare: unknown comparison $job (want: live dpkg100k rpm procs empty)" >&2; exit 2 ;;
	esac
done
