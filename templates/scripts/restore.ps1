#Requires -Version 5.1
# smr-template: Restore a connection's replica to the source: stop the service, restore, verify, start it again (PowerShell).

<#
.SYNOPSIS
Stops a service, restores an smr connection's replica to the source, verifies, starts the service.

.DESCRIPTION
Runs on the SOURCE, on the day the replica is needed back (the counterpart of
quiesce-and-snapshot.ps1):  smr restore NAME --wait,  then  smr verify NAME.  Nothing is stopped
unless the connection is connected to its target. On a failure the service is left STOPPED (its data
is not what it should be) and the script says so.
Exit code: 0 restored and verified; else the code of the step that failed (2 usage, refused over
newer source files, or unknown connection; 3 daemon or target down; 4 verify found differences).

.PARAMETER Connection
The smr connection (required).
.PARAMETER Service
A Windows service, stopped with Stop-Service and started with Start-Service.
.PARAMETER StopCommand
Instead of -Service: a PowerShell command that stops the service.
.PARAMETER StartCommand
Instead of -Service: a PowerShell command that starts it again.
.PARAMETER Mode
diff (default), full or checksum.
.PARAMETER FromSnapshot
Restore this snapshot of the replica (made by the snapshot tasks) instead of the replica.
.PARAMETER Force
Overwrite source files newer than the replica (else smr refuses, listing them).
.PARAMETER VerifyMode
diff or checksum (default: checksum after a checksum restore, else diff).
.PARAMETER Smr
The smr program (default smr).
.PARAMETER StateDir
The source daemon's state dir (default: smr's own default).

.EXAMPLE
.\restore.ps1 -Connection web -Service W3SVC
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    [string]$Connection,
    [string]$Service,
    [string]$StopCommand,
    [string]$StartCommand,
    [ValidateSet('diff', 'full', 'checksum')][string]$Mode = 'diff',
    [string]$FromSnapshot,
    [switch]$Force,
    [string]$VerifyMode = '',
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
Usage: $Prog -Connection NAME (-Service NAME | -StopCommand CMD -StartCommand CMD) [-Mode diff|full|checksum]
             [-FromSnapshot NAME] [-Force] [-VerifyMode diff|checksum] [-Smr PATH] [-StateDir DIR]
Stops the service, runs smr restore NAME --wait, then smr verify NAME, then starts the service.
"@
    exit 0
}
if ($Rest.Count -gt 0) { Exit-With 2 "unknown argument `"$($Rest[0])`" (see -Help)" }
if (-not $Connection) { Exit-With 2 '-Connection NAME is required (see -Help)' }
if (-not $VerifyMode) { $VerifyMode = if ($Mode -eq 'checksum') { 'checksum' } else { 'diff' } }
if ($VerifyMode -notin @('diff', 'checksum')) { Exit-With 2 '-VerifyMode must be diff or checksum' }
if ($Service -and ($StopCommand -or $StartCommand)) { Exit-With 2 'give either -Service or -StopCommand/-StartCommand, not both' }
if (($StopCommand -or $StartCommand) -and -not ($StopCommand -and $StartCommand)) { Exit-With 2 '-StopCommand and -StartCommand go together' }

# Prefer an executable (smr.cmd / smr.exe) over npm's smr.ps1 shim, which may lose arguments.
$app = Get-Command -Name $Smr -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
if (-not $app) { $app = Get-Command -Name $Smr -ErrorAction SilentlyContinue | Select-Object -First 1 }
if (-not $app) { Exit-With 2 "smr program `"$Smr`" not found (use -Smr PATH)" }
$smrPath = $app.Source

$common = @()
if ($StateDir) { $common += @('--state-dir', $StateDir) }

# Nothing is stopped unless the target can be reached: a restore needs it.
$statusArgs = @('status', $Connection, '--json') + $common
$status = & $smrPath @statusArgs
$rc = $LASTEXITCODE
if ($rc -ne 0) { Exit-With $rc "FAILED: smr status $Connection exited with $rc; nothing stopped, nothing restored" }
if (($status | ConvertFrom-Json).link -ne 'connected') {
    Exit-With 3 "$Connection is not connected to its target; nothing stopped, nothing restored"
}

Write-Log 'stopping the service'
try {
    if ($Service) { Stop-Service -Name $Service } elseif ($StopCommand) { Invoke-Expression $StopCommand }
} catch {
    Exit-With 1 "the stop command failed ($($_.Exception.Message)); nothing restored"
}

$restoreArgs = @('restore', $Connection, '--mode', $Mode, '--wait')
if ($FromSnapshot) { $restoreArgs += @('--from-snapshot', $FromSnapshot) }
if ($Force) { $restoreArgs += '--force' }
$restoreArgs += $common
Write-Log "restoring $Connection ($Mode)"
& $smrPath @restoreArgs
$rc = $LASTEXITCODE
if ($rc -ne 0) { Exit-With $rc "FAILED: the restore of $Connection exited with $rc; the service is left STOPPED" }

Write-Log "verifying $Connection ($VerifyMode)"
$verifyArgs = @('verify', $Connection, '--mode', $VerifyMode) + $common
& $smrPath @verifyArgs
$rc = $LASTEXITCODE
if ($rc -ne 0) { Exit-With $rc "FAILED: verify of $Connection exited with $rc after the restore; the service is left STOPPED" }

Write-Log 'starting the service'
try {
    if ($Service) { Start-Service -Name $Service } elseif ($StartCommand) { Invoke-Expression $StartCommand }
} catch {
    Exit-With 1 "the start command failed after a good restore ($($_.Exception.Message)); start the service by hand"
}
Write-Log "OK: $Connection restored ($Mode) and verified ($VerifyMode); the service is started"
exit 0
