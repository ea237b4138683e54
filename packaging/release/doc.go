// Package release holds the test of the whole release build: `make
// packages` (scripts/packages.sh) on freshly built binaries must produce
// every artifact, each with its SBOM, and a SHA256SUMS that verifies. The
// artifacts themselves are installed and inspected by the tests next to
// their build scripts (packaging/linux, packaging/windows, packaging/macos).
package release
