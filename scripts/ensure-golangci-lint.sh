#!/usr/bin/env bash
# Prints the path of golangci-lint at the version this repository pins,
# building it into .cache/bin with `go install` when it is missing or
# another version: a fresh machine needs only Go (scripts/ensure-go.sh).
# A first build takes a few minutes; later calls return at once.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v2.15.0
bin=$PWD/.cache/bin/golangci-lint

if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "version ${version#v} "; then
	echo "$bin"
	exit 0
fi
go=$(scripts/ensure-go.sh)
echo "ensure-golangci-lint: building golangci-lint $version into .cache/bin (a few minutes, once)" >&2
mkdir -p .cache/bin
GOBIN=$PWD/.cache/bin "$go" install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version" >&2
echo "$bin"
