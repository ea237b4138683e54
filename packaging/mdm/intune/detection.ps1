# avscout - Intune Win32 app custom detection script (optional; the
# registry rule in README.md is simpler and needs no script).
#
# Intune counts the app as installed when this exits 0 AND writes to
# standard output; anything else is "not installed". Detected when the MSI's
# version value exists (64-bit view) and avscout.exe is present.

$programFiles = $env:ProgramW6432
if (-not $programFiles) { $programFiles = $env:ProgramFiles }
$avscout = Join-Path $programFiles 'avscout\avscout.exe'

$key = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
$sub = $key.OpenSubKey('SOFTWARE\avscout')
if ($null -eq $sub) { exit 0 }
$installed = $sub.GetValue('Version')
if (-not $installed) { exit 0 }
if (-not (Test-Path -LiteralPath $avscout -PathType Leaf)) { exit 0 }
Write-Output "avscout $installed"
exit 0
