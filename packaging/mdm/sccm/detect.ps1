# avscout - Configuration Manager (SCCM) application detection script.
#
# ConfigMgr's contract: exit 0 with text on standard output = installed;
# exit 0 with nothing on standard output = not installed; anything on
# standard error or a non-zero exit = unknown (the deployment fails).
# So this script writes nothing to stderr and always exits 0.
#
# Installed means: the MSI's stable version value
# HKLM\SOFTWARE\avscout\Version (64-bit view) is at least $Wanted, the
# binary exists, and the avscout service is registered. Set $Wanted to the
# version of the deployment type this script belongs to (the MSI's
# ProductVersion, MAJOR.MINOR.BUILD), so an older install is upgraded.

$Wanted = '0.0.0'

$programFiles = $env:ProgramW6432
if (-not $programFiles) { $programFiles = $env:ProgramFiles }
$avscout = Join-Path $programFiles 'avscout\avscout.exe'

try {
    $key = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $sub = $key.OpenSubKey('SOFTWARE\avscout')
    if ($null -eq $sub) { exit 0 }
    $installed = [string]$sub.GetValue('Version')
    $have = $null
    if (-not [version]::TryParse($installed, [ref]$have)) { exit 0 }
    if ($have -lt [version]$Wanted) { exit 0 }
    if (-not (Test-Path -LiteralPath $avscout -PathType Leaf)) { exit 0 }
    if ($null -eq (Get-Service -Name 'avscout' -ErrorAction SilentlyContinue)) { exit 0 }
    Write-Output "avscout $installed"
} catch {
    # Not installed rather than unknown: ConfigMgr then reinstalls.
}
exit 0
