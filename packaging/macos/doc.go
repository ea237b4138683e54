// Package macos holds the tests of the macOS installer package build
// (build.sh, mkpkg, the install scripts); the writers are in
// packaging/macos/macpkg. It has no code of its own.
package macos
