// Package winpkg holds the tests of the Windows installer: the MSI that
// packaging/windows/build.sh compiles with wixl from avscout.wxs and signs
// with osslsigncode, and its install helper (msisetup).
//
// It exists because the MSI is the artifact fleets deploy (Intune, SCCM,
// GPO) and nothing but a real build, a real signature check and a real
// `msiexec` run (under Wine on the Linux CI machine) shows that it
// installs, starts and upgrades the agent's service, keeps the first
// install's configuration and leaves nothing behind on removal. The tests
// build everything they check from source into temporary folders.
package winpkg
