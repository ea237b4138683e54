#!/usr/bin/env bash
# Usage: BIN=dist OUT=out PKG_VERSION=0.1.40 [VERSION=0.1.40+g9bd243b]
#        [SIGN_CERT=cert.pem SIGN_KEY=key.pem [SIGN_PASS_FILE=f] [SIGN_TIMESTAMP_URL=url]]
#        packaging/windows/build.sh
#
# Builds the avscout MSI: OUT/avscout-PKG_VERSION-windows-amd64.msi from
# BIN/avscout-windows-amd64.exe and the install helper (msisetup), taken
# from BIN/avscout-msi-setup-windows-amd64.exe when present, else built
# here. With SIGN_CERT and SIGN_KEY (PEM) both executables and then the MSI
# are Authenticode-signed (SHA-256) with osslsigncode, timestamped when
# SIGN_TIMESTAMP_URL (RFC 3161) is set, and the signed agent is written to
# OUT/avscout-windows-amd64.exe too (for manual installs).
#
# wixl (msitools 0.101) ignores attributes it does not know with only a
# warning, which would silently drop part of the package: any output on
# its stderr fails the build. Two table cells wixl cannot write are set
# afterwards with msibuild (see avscout.wxs).
#
# WXS overrides the source (tests use it to show that a warning fails).
#
# Needs (apt): wixl msitools osslsigncode; Go (scripts/ensure-go.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "packaging/windows: $*" >&2; exit 1; }

: "${BIN:?BIN (folder of release binaries) is not set}"
: "${OUT:?OUT (artifact folder) is not set}"
: "${PKG_VERSION:?PKG_VERSION (MAJOR.MINOR.BUILD) is not set}"
# Windows Installer versions: major and minor at most 255, build at most
# 65535 (learn.microsoft.com, ProductVersion property).
[[ $PKG_VERSION =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "PKG_VERSION $PKG_VERSION is not MAJOR.MINOR.BUILD"
((10#${BASH_REMATCH[1]} <= 255 && 10#${BASH_REMATCH[2]} <= 255 && 10#${BASH_REMATCH[3]} <= 65535)) ||
	die "PKG_VERSION $PKG_VERSION is out of the MSI range (255.255.65535)"

sign=
if [ -n "${SIGN_CERT:-}" ] || [ -n "${SIGN_KEY:-}" ]; then
	[ -n "${SIGN_CERT:-}" ] && [ -n "${SIGN_KEY:-}" ] || die "set both SIGN_CERT and SIGN_KEY, or neither"
	[ -r "$SIGN_CERT" ] || die "SIGN_CERT $SIGN_CERT is not readable"
	[ -r "$SIGN_KEY" ] || die "SIGN_KEY $SIGN_KEY is not readable"
	sign=1
fi
tools=(wixl msibuild)
[ -n "$sign" ] && tools+=(osslsigncode)
for t in "${tools[@]}"; do
	command -v "$t" >/dev/null 2>&1 || die "$t is missing (apt: wixl msitools osslsigncode)"
done
go=$("$repo/scripts/ensure-go.sh")

exe=$BIN/avscout-windows-amd64.exe
[ -f "$exe" ] || die "$exe does not exist (make cross builds it)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# osslsigncode sign IN OUT
authenticode() {
	local args=(sign -certs "$SIGN_CERT" -key "$SIGN_KEY" -h sha256
		-n "avscout endpoint agent" -i "https://github.com/avscout/avscout" -in "$1" -out "$2")
	[ -n "${SIGN_PASS_FILE:-}" ] && args+=(-readpass "$SIGN_PASS_FILE")
	[ -n "${SIGN_TIMESTAMP_URL:-}" ] && args+=(-ts "$SIGN_TIMESTAMP_URL")
	osslsigncode "${args[@]}" >"$work/sign.log" 2>&1 || { cat "$work/sign.log" >&2; die "signing $1 failed"; }
}

cp "$exe" "$work/avscout.exe"
if [ -f "$BIN/avscout-msi-setup-windows-amd64.exe" ]; then
	cp "$BIN/avscout-msi-setup-windows-amd64.exe" "$work/avscout-msi-setup.exe"
else
	(cd "$repo" && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$go" build -trimpath -ldflags "-s -w -H windowsgui" \
		-o "$work/avscout-msi-setup.exe" ./packaging/windows/msisetup) || die "building the install helper failed"
fi
if [ -n "$sign" ]; then
	for f in avscout.exe avscout-msi-setup.exe; do
		authenticode "$work/$f" "$work/signed-$f"
		mv "$work/signed-$f" "$work/$f"
	done
fi

msi=$work/avscout.msi
# wixl finds sources relative to the current folder (absolute paths fail).
if ! (cd "$work" && wixl -a x64 -D Version="$PKG_VERSION" -D AgentExe=avscout.exe -D SetupExe=avscout-msi-setup.exe \
	-o "$msi" "${WXS:-$here/avscout.wxs}" 2>"$work/wixl.err"); then
	cat "$work/wixl.err" >&2
	die "wixl failed"
fi
if [ -s "$work/wixl.err" ]; then
	cat "$work/wixl.err" >&2
	die "wixl printed warnings (above): an attribute or element was ignored; fix avscout.wxs"
fi
# REG_EXPAND_SZ is the "#%" prefix of the Registry table's Value column;
# 11282 = 18 (exe from an installed file) + 1024 (deferred) + 2048 (no
# impersonation) + 8192 (HideTarget: keep the command line, which holds the
# token, out of the log) (learn.microsoft.com: Registry Table, Custom
# Action In-Script Execution Options, Custom Action Type 18).
# RemoveExistingProducts right after InstallValidate (1400): wixl places it
# after the last explicitly numbered action.
msibuild "$msi" \
	-q "UPDATE \`Registry\` SET \`Value\` = '#%%SystemRoot%\\System32\\EventCreate.exe' WHERE \`Name\` = 'EventMessageFile'" \
	-q "UPDATE \`CustomAction\` SET \`Type\` = 11282 WHERE \`Action\` = 'AvscoutSetup'" \
	-q "UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 1401 WHERE \`Action\` = 'RemoveExistingProducts'" ||
	die "msibuild could not patch $msi"
if [ -n "$sign" ]; then
	authenticode "$msi" "$work/signed.msi"
	mv "$work/signed.msi" "$msi"
fi

mkdir -p "$OUT"
dest=$OUT/avscout-$PKG_VERSION-windows-amd64.msi
mv "$msi" "$dest"
[ -n "$sign" ] && cp "$work/avscout.exe" "$OUT/avscout-windows-amd64.exe"
echo "$dest"
