# avscout - Configuration Manager (SCCM) Configuration Item discovery
# script (Windows, script setting, data type String), paired with
# remediate.ps1 as the CI's remediation script.
#
# It prints the agent's one-line status, read from the status its service
# keeps (no scan, well under a second): the compliance rule is "begins
# with COMPLIANT". Unlike Intune's detection script it always exits 0 and
# never writes to standard error: ConfigMgr reads either as a failed
# discovery, not as non-compliance.

$programFiles = $env:ProgramW6432
if (-not $programFiles) { $programFiles = $env:ProgramFiles }
$avscout = Join-Path $programFiles 'avscout\avscout.exe'

if (-not (Test-Path -LiteralPath $avscout -PathType Leaf)) {
    Write-Output "NOT INSTALLED: $avscout not found"
    exit 0
}
# The agent writes UTF-8; without this PowerShell decodes its output with
# the OEM code page and garbles non-ASCII product names.
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
& $avscout status --format intune-remediation
exit 0
