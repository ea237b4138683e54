#!/usr/bin/env bash
# rpm-bench-root.sh builds a root whose rpm database (sqlite, var/lib/rpm)
# holds N packages written by the real rpm, for benchmarks of the rpm
# source: one spec whose N-2 noarch subpackages each own FILES files
# (20 files make headers of 4.5 KB, past a 4 KiB sqlite page, so each
# record has an overflow page; real distributions' average some tens of
# KB), plus a KESL one and the spec's own, built in one rpmbuild run and
# recorded with rpm --root --justdb (no payload is unpacked).
#
#   scripts/rpm-bench-root.sh N ROOT [FILES [COPIES]]  (default 20 and 1)
#
# 400 packages take one and a half minutes on two cores, most of it rpm's
# own inserts, so 20,000 would take over an hour: with COPIES, sqlite3
# then appends the Packages table to itself until it holds N·COPIES rows
# ("INSERT INTO Packages (blob) SELECT blob …", as rpm's own headers,
# under new hnums). rpm -qa lists them all; the index tables still name
# only the first N, which neither rpm -qa nor avscout reads. COPIES needs
# the sqlite3 tool (Debian package "sqlite3").
set -euo pipefail
n=$1 root=$2 files=${3:-20} copies=${4:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
top=$work/rpmbuild spec=$work/bench.spec
mkdir -p "$top"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS} "$root/var/lib/rpm" "$root/etc"
printf 'ID=rhel\nVERSION_ID="9"\nPRETTY_NAME="Red Hat Enterprise Linux 9"\n' >"$root/etc/os-release"
awk -v n="$n" -v files="$files" 'BEGIN {
	printf "Name: rpmbench\nVersion: 1.0\nRelease: 1\nSummary: rpm benchmark root\nLicense: none\nBuildArch: noarch\n"
	printf "%%description\nrpm benchmark root\n%%install\n"
	for (i = 0; i < n - 2; i++)
		for (f = 0; f < files; f++)
			printf "install -D -m 0644 /dev/null %%{buildroot}/usr/share/libbench%d/data/file-%d-%d.dat\n", i, i, f
	printf "%%files\n"
	for (i = 0; i < n - 2; i++) {
		printf "%%package -n libbench%d\nSummary: synthetic package %d\nVendor: Bench Vendor\n", i, i
		printf "%%description -n libbench%d\nsynthetic package %d\n%%files -n libbench%d\n/usr/share/libbench%d\n", i, i, i, i
	}
	printf "%%package -n kesl\nVersion: 12.1.0.2968\nSummary: Kaspersky Endpoint Security for Linux\nVendor: AO Kaspersky Lab\n"
	printf "%%description -n kesl\nKaspersky Endpoint Security for Linux\n%%files -n kesl\n"
}' >"$spec"
rpmbuild --define "_topdir $top" --define '__os_install_post %{nil}' --define 'debug_package %{nil}' \
	--define '_build_id_links none' --quiet -bb "$spec" >/dev/null
# xargs: 20,000 file names overflow one command line; rpm -i adds to the
# database in batches.
find "$top/RPMS/noarch" -name '*.rpm' -print0 | sort -z | xargs -0 -n 2000 \
	rpm --root "$root" --dbpath /var/lib/rpm --define '_db_backend sqlite' \
	-i --nodeps --noscripts --justdb --ignorearch --ignoreos 2>/dev/null # Debian's "use Alien" notice
if ((copies > 1)); then
	db=$root/var/lib/rpm/rpmdb.sqlite
	last=$(sqlite3 "$db" 'SELECT max(hnum) FROM Packages')
	for ((c = 1; c < copies; c++)); do
		echo "INSERT INTO Packages (blob) SELECT blob FROM Packages WHERE hnum <= $last;"
	done | sqlite3 "$db"
	sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
fi
