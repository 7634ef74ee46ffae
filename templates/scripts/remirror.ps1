#Requires -Version 5.1
# smr-template: Remirror a connection (full, diff or checksum), then verify it and report (PowerShell).

<#
.SYNOPSIS
Remirrors an smr connection, then verifies it and reports.

.DESCRIPTION
Runs on the SOURCE:  smr mirror start NAME --mode MODE --wait,  then  smr verify NAME.
Exit code: verify's (0 equal, 4 differences), or the code of the step that failed (3 daemon or target
down, 2 usage or unknown connection, 6 timed out, ...).

.PARAMETER Connection
The smr connection (required).
.PARAMETER Mode
diff (default), full or checksum.
.PARAMETER VerifyMode
diff or checksum (default: checksum after a checksum mirror, else diff).
.PARAMETER Report
Also write verify's list of differences to this file.
.PARAMETER Smr
The smr program (default smr).
.PARAMETER StateDir
The source daemon's state dir (default: smr's own default).

.EXAMPLE
.\remirror.ps1 -Connection web -Mode checksum
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    [string]$Connection,
    [ValidateSet('diff', 'full', 'checksum')][string]$Mode = 'diff',
    [string]$VerifyMode = '',
    [string]$Report,
    [string]$Smr = 'smr',
    [string]$StateDir,
    [switch]$Help,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$Prog = Split-Path -Leaf $PSCommandPath

function Write-Log([string]$Message) { [Console]::Error.WriteLine("${Prog}: $Message") }

function Exit-With([int]$Code, [string]$Message) {
    Write-Log $Message
    exit $Code
}

if ($Help -or $Rest -contains '--help' -or $Rest -contains '-h') {
    @"
Usage: $Prog -Connection NAME [-Mode diff|full|checksum] [-VerifyMode diff|checksum] [-Report FILE]
             [-Smr PATH] [-StateDir DIR]
Runs smr mirror start NAME --mode MODE --wait, then smr verify NAME, and reports the result.
"@
    exit 0
}
if ($Rest.Count -gt 0) { Exit-With 2 "unknown argument `"$($Rest[0])`" (see -Help)" }
if (-not $Connection) { Exit-With 2 '-Connection NAME is required (see -Help)' }
if (-not $VerifyMode) { $VerifyMode = if ($Mode -eq 'checksum') { 'checksum' } else { 'diff' } }
if ($VerifyMode -notin @('diff', 'checksum')) { Exit-With 2 '-VerifyMode must be diff or checksum' }

# Prefer an executable (smr.cmd / smr.exe) over npm's smr.ps1 shim, which may lose arguments.
$app = Get-Command -Name $Smr -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
if (-not $app) { $app = Get-Command -Name $Smr -ErrorAction SilentlyContinue | Select-Object -First 1 }
if (-not $app) { Exit-With 2 "smr program `"$Smr`" not found (use -Smr PATH)" }
$smrPath = $app.Source

$common = @()
if ($StateDir) { $common += @('--state-dir', $StateDir) }

Write-Log "mirroring $Connection ($Mode)"
$mirrorArgs = @('mirror', 'start', $Connection, '--mode', $Mode, '--wait') + $common
& $smrPath @mirrorArgs
$rc = $LASTEXITCODE
if ($rc -ne 0) { Exit-With $rc "FAILED: the $Mode mirror of $Connection did not complete (smr exit $rc); not verified" }

Write-Log "verifying $Connection ($VerifyMode)"
$verifyArgs = @('verify', $Connection, '--mode', $VerifyMode)
if ($Report) { $verifyArgs += @('--report', $Report) }
$verifyArgs += $common
& $smrPath @verifyArgs
$rc = $LASTEXITCODE
switch ($rc) {
    0 { Write-Log "OK: $Connection mirrored ($Mode) and verified ($VerifyMode): source and target match" }
    4 { Write-Log "DIFFERENCES: $Connection still differs after the $Mode mirror (listed above)" }
    default { Write-Log "FAILED: verify of $Connection exited with $rc" }
}
exit $rc
