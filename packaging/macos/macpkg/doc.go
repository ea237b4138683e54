// Package macpkg builds macOS flat installer packages (.pkg) on any OS, in
// pure Go, so a Linux release machine can ship the macOS agent without
// Apple's pkgbuild/productbuild, xar or mkbom (Debian has neither xar nor
// bomutils).
//
// A product archive is a xar archive holding a Distribution file and one
// component package directory with PackageInfo, Bom, Payload (gzip'ed
// cpio odc) and Scripts (gzip'ed cpio odc). This package writes each of
// those formats, a Mach-O universal ("fat") binary from per-architecture
// slices, and the whole product archive; it also reads xar, Bom and cpio
// back so tests can inspect exactly what was written. The readers take
// untrusted input: malformed archives yield errors, never panics.
//
// Format sources (documentation, no code copied): xar — the xar project's
// header and TOC description (header magic "xar!", zlib-compressed XML TOC,
// SHA-1 checksum of the compressed TOC at heap offset 0); Bom — the
// "BOMStore" layout described in igankevich/stuckliste
// docs/bom-file-format-reference.md and receipt-file-format-reference.md
// and the bomutils headers; cpio odc — POSIX.1-1988 "ustar/cpio"
// (pax(1) "cpio" interchange format); fat binaries — <mach-o/fat.h>.
// Signing is not done here: productsign or rcodesign re-write the xar TOC
// with a signature on a release machine (packaging/macos/README-macos.md).
package macpkg
