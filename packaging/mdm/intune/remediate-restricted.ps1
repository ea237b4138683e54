# avscout - Intune Remediations remediation script: removes the restricted
# products the agent finds, by `avscout remediate --execute --yes`.
#
# Pair it with detect-restricted.ps1 (the detection script) in one
# Remediations package; Intune runs it only when detection exits 1. Run it
# as SYSTEM (not the logged-on credentials), in 64-bit PowerShell. Assign
# the package to a pilot device group first.
#
# The agent scans, runs the plan's steps in order (a scan after each,
# stopping at the first failure) and ends with a fresh scan. Nothing the
# collector sends can start this: only this package, which you upload.
#
# Exit codes (Intune counts anything but 0 as a failed remediation):
#   0  the device is compliant at the end
#   1  still not compliant, or a step failed (its output is in the log),
#      or the agent is not installed
#   2  refused: a bad $Product, a product that is not restricted here, or
#      the agent could not scan
# Standard output is one summary line of at most 2048 characters (what
# Intune shows); nothing goes to standard error. The whole run (plan, each
# step, the result) is appended to the log below (SYSTEM and
# Administrators only); past 1 MiB it is moved to avscout-remediate.log.1.

$programFiles = $env:ProgramW6432
if (-not $programFiles) { $programFiles = $env:ProgramFiles }
$avscout = Join-Path $programFiles 'avscout\avscout.exe'
$log = Join-Path $env:ProgramData 'Microsoft\IntuneManagementExtension\Logs\avscout-remediate.log'

# Remove only the restricted product with this catalog ID (e.g.
# 'kaspersky-endpoint-security-windows'); empty removes every one found.
$Product = ''

$ErrorActionPreference = 'Stop'
$maxLogBytes = 1048576
$maxRunChars = 262144
$maxOutput = 2048
# After a removal, how long to wait for the restarted service's first scan
# (it starts within its 2-minute splay) to clear the restricted status.
$statusWaitSeconds = 180
$utf8 = New-Object System.Text.UTF8Encoding($false)

function Write-Log([string]$text) {
    try { [System.IO.File]::AppendAllText($log, $text + [Environment]::NewLine, $utf8) } catch { }
}

function Out-Summary([string]$line) {
    $line = $line -replace '[\x00-\x1f]+', ' '
    if ($line.Length -gt $maxOutput) { $line = $line.Substring(0, $maxOutput) }
    Write-Output $line
}

# The log: bounded (one older copy at most), created private.
try {
    $dir = Split-Path -Parent $log
    if (-not (Test-Path -LiteralPath $dir -PathType Container)) { New-Item -ItemType Directory -Path $dir -Force -ErrorAction Stop | Out-Null }
    if ((Test-Path -LiteralPath $log -PathType Leaf) -and (Get-Item -LiteralPath $log -ErrorAction Stop).Length -gt $maxLogBytes) {
        Move-Item -LiteralPath $log -Destination ($log + '.1') -Force -ErrorAction Stop
    }
    if (-not (Test-Path -LiteralPath $log -PathType Leaf)) {
        $acl = New-Object System.Security.AccessControl.FileSecurity
        $acl.SetAccessRuleProtection($true, $false)
        foreach ($sid in 'S-1-5-18', 'S-1-5-32-544') {
            $who = New-Object System.Security.Principal.SecurityIdentifier($sid)
            $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($who, 'FullControl', 'Allow')))
        }
        [System.IO.File]::Create($log, 4096, [System.IO.FileOptions]::None, $acl).Dispose()
    }
} catch { }

# A catalog ID is lower-case letters, digits, dots and dashes: anything
# else is refused, never passed on (nor written to the log).
if ($Product -ne '' -and $Product -cnotmatch '^[a-z0-9][a-z0-9.-]{0,127}\z') {
    Write-Log ('=== ' + (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') + ' REFUSED: $Product is not a catalog product ID')
    Out-Summary 'REFUSED: $Product is not a catalog product ID (lower-case letters, digits, dots, dashes)'
    exit 2
}
# Constant words and the checked ID only: nothing else reaches the command line.
$arguments = 'remediate --execute --yes --format jamf'
if ($Product -ne '') { $arguments += ' --product ' + $Product }
Write-Log ('=== ' + (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') + ' avscout ' + $arguments)

if (-not (Test-Path -LiteralPath $avscout -PathType Leaf)) {
    Write-Log "NOT INSTALLED: $avscout not found"
    Out-Summary "NOT INSTALLED: $avscout not found"
    exit 1
}

try {
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $avscout
    $psi.Arguments = $arguments
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.StandardOutputEncoding = $utf8
    $psi.StandardErrorEncoding = $utf8
    $proc = [System.Diagnostics.Process]::Start($psi)
    $proc.StandardInput.Close()
    # Both pipes at once, so that neither can fill and stall the agent.
    $errTask = $proc.StandardError.ReadToEndAsync()
    $out = $proc.StandardOutput.ReadToEnd()
    $proc.WaitForExit()
    $err = $errTask.Result
    $code = $proc.ExitCode
} catch {
    Write-Log "ERROR: cannot run ${avscout}: $_"
    Out-Summary "ERROR: cannot run ${avscout}: $_"
    exit 2
}

# The plan and the steps (standard error) into the log, bounded per run.
if ($err.Length -gt $maxRunChars) {
    Write-Log "[... the first part of this run's output is cut; its last $maxRunChars characters follow]"
    $err = $err.Substring($err.Length - $maxRunChars)
}
Write-Log $err.TrimEnd()
$result = 'no report (see the log)'
if ($out -match '<result>(.*)</result>') { $result = $Matches[1] }
Write-Log "result: $result"
Write-Log "exit code: $code"

# The status the detection script reads is refreshed by the service's
# next scan: restarting it scans again within a few minutes.
if ($code -eq 0 -or $code -eq 1) {
    try { Restart-Service -Name 'avscout' -ErrorAction Stop -WarningAction SilentlyContinue } catch { Write-Log "could not restart the avscout service: $_" }
}
# The check that runs next (Intune runs detection again straight after
# this script) reads that status: after a removal that worked, wait
# (bounded) until it no longer reports an issue.
if ($code -eq 0) {
    $deadline = (Get-Date).AddSeconds($statusWaitSeconds)
    do {
        $null = & $avscout status --format intune-remediation 2>$null
        if ($LASTEXITCODE -eq 0) { break }
        Start-Sleep -Seconds 5
    } while ((Get-Date) -lt $deadline)
}

if ($code -eq 0 -or $code -eq 1) {
    $line = "$result (exit $code; log $log)"
    if ($code -ne 0) {
        # The agent's last word: the failed step, or what is left.
        $last = @($err -split '\r?\n' | Where-Object { $_ -like 'avscout remediate: *' }) | Select-Object -Last 1
        if ($last) { $line = "$result; $last (exit $code; log $log)" }
    }
    Out-Summary $line
    exit $code
}
Out-Summary "ERROR: the agent refused the request or could not scan (exit $code; log $log)"
exit 2
