# avscout - Intune Remediations detection script.
#
# Upload as the detection script of a Remediations package (no remediation
# script needed for reporting). It runs the installed agent, which answers
# from the status its service keeps (no scan, well under a second), and
# passes its one-line output and exit code through:
#   exit 0  COMPLIANT: the last scan is recent, saw everything and found no
#           restricted product
#   exit 1  RESTRICTED / INCOMPLETE / NOT SCANNED / STALE / SCAN FAILED /
#           ERROR / NOT INSTALLED
# Intune runs the remediation (or flags "With issues") on exit 1 only.
#
# Intune runs this in 32-bit PowerShell unless "Run script in 64-bit
# PowerShell" is set; there $env:ProgramFiles is "Program Files (x86)", so
# the 64-bit folder is taken from $env:ProgramW6432.

$programFiles = $env:ProgramW6432
if (-not $programFiles) { $programFiles = $env:ProgramFiles }
$avscout = Join-Path $programFiles 'avscout\avscout.exe'

if (-not (Test-Path -LiteralPath $avscout -PathType Leaf)) {
    Write-Output "NOT INSTALLED: $avscout not found"
    exit 1
}
# The agent writes UTF-8; without this PowerShell decodes its output with
# the OEM code page and garbles non-ASCII product names.
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
& $avscout status --format intune-remediation
exit $LASTEXITCODE
