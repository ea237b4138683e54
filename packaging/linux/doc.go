// Package linuxpkg holds the tests of the Linux packages: packaging/linux
// builds the agent's and the collector's .deb and .rpm with nfpm
// (build.sh, a shell script called by `make packages`), and this Go
// package exists so that `go test ./...` builds them from source and
// installs, upgrades and removes them with the real dpkg and rpm.
package linuxpkg
