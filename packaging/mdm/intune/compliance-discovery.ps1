# avscout - Intune custom compliance discovery script (Windows).
#
# Upload under Endpoint security > Device compliance > Scripts, with
# compliance-rules.json in the compliance policy. It prints one line of
# compressed JSON with flat keys, read from the status the agent's service
# keeps (no scan), and exits 0: the rules judge the values.
#
# Intune runs discovery scripts as SYSTEM; the 64-bit Program Files folder
# is taken from $env:ProgramW6432 in case the host is 32-bit PowerShell.

$programFiles = $env:ProgramW6432
if (-not $programFiles) { $programFiles = $env:ProgramFiles }
$avscout = Join-Path $programFiles 'avscout\avscout.exe'

if (-not (Test-Path -LiteralPath $avscout -PathType Leaf)) {
    # The agent's keys, so every rule still finds its setting.
    $hash = [ordered]@{
        RestrictedProductPresent = $false
        RestrictedProducts       = ''
        ProductCount             = 0
        LastScanAgeHours         = -1
        FailedSourceCount        = 0
        ScanStatus               = 'NotInstalled'
        Verdict                  = ''
        AgentVersion             = '0.0.0'
    }
    return $hash | ConvertTo-Json -Compress
}
# The agent writes UTF-8; without this PowerShell decodes its output with
# the OEM code page and garbles non-ASCII product names.
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
& $avscout status --format intune-compliance
exit 0
