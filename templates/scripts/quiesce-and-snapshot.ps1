#Requires -Version 5.1
# smr-template: Stop a Windows service, queue a snapshot task in line with replication, always restart the service.

<#
.SYNOPSIS
Stops a service, inserts an smr task into the replication queue at that point, and always restarts
the service.

.DESCRIPTION
Runs on the SOURCE. First checks that the connection exists and that its link is connected and
transmitting (smr status CONNECTION --json): otherwise nothing is stopped. Then stops the service (a
Windows service, or your own -StopCommand), waits until it has stopped, runs
    smr queue-task CONNECTION --on execute --timeout T [--state-dir D] -- TASK [ARGS...]
and waits for the task with  smr tasks wait ID.  The service is started again when the task has
ended (or as soon as it is queued, with -RestartAfter queued), never later than -MaxDown after the
stop began, and in a finally block whatever happened. A service that was not running beforehand is
neither stopped nor started. Services that depend on it and were running are stopped with it and
started again afterwards.

The target reaches the task exactly at the point where the service had stopped and flushed its data,
so the snapshot the task takes there is application consistent; a task still pending when the
service restarts stays queued and still runs at that point.

Exit code: smr's (0 task succeeded, 5 task failed or was rejected, 6 task timed out or still
pending, 3 daemon or target down, 2 usage or unknown connection), 6 also when the service did not
stop within -StopTimeout, 1 when it could not be stopped or restarted.

.PARAMETER Connection
The smr connection (required).
.PARAMETER Service
Name of a Windows service to stop and start.
.PARAMETER StopCommand
Instead of -Service: a PowerShell command that stops the service.
.PARAMETER StartCommand
With -StopCommand: a PowerShell command that starts it again (required).
.PARAMETER StoppedCheck
A PowerShell command that returns $true (or exits 0) once the service has stopped. Polled after
stopping, and run first to learn whether the service is running at all.
.PARAMETER StopTimeout
How long to wait for the service to stop, like 60s, 2m (default 60s).
.PARAMETER MaxDown
The longest the service stays down, like 2m (default 2m). Past it the service is started again and
the task is reported as still pending (exit 6).
.PARAMETER RestartAfter
done (default): start the service when the task has ended. queued: as soon as the task is queued,
then wait for its result.
.PARAMETER WaitTimeout
With -RestartAfter queued: how long to wait for the result after the restart (default 30m; 0 = do
not wait).
.PARAMETER Task
Task program in the target's --tasks-dir (default snapshot-copy.sh).
.PARAMETER TaskArg
Arguments for the task, passed verbatim.
.PARAMETER TaskTimeout
How long the target holds applying while the task runs (default 10m).
.PARAMETER On
execute (default) or receive.
.PARAMETER Smr
The smr program (default smr).
.PARAMETER StateDir
The source daemon's state dir (default: smr's own default).

.EXAMPLE
.\quiesce-and-snapshot.ps1 -Connection web -Service MSSQLSERVER -Task snapshot-vss.ps1
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    [string]$Connection,
    [string]$Service,
    [string]$StopCommand,
    [string]$StartCommand,
    [string]$StoppedCheck,
    [string]$StopTimeout = '60s',
    [string]$MaxDown = '2m',
    [ValidateSet('done', 'queued')][string]$RestartAfter = 'done',
    [string]$WaitTimeout = '30m',
    [string]$Task = 'snapshot-copy.sh',
    [string[]]$TaskArg = @(),
    [string]$TaskTimeout = '10m',
    [ValidateSet('execute', 'receive')][string]$On = 'execute',
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

function Show-Usage {
    @"
Usage: $Prog -Connection NAME (-Service NAME | -StopCommand CMD -StartCommand CMD) [options]

  -Service NAME         a Windows service, stopped with Stop-Service and started with Start-Service
  -StopCommand CMD      a PowerShell command that stops the service
  -StartCommand CMD     a PowerShell command that starts it again (required with -StopCommand)
  -StoppedCheck CMD     a PowerShell command that succeeds once the service has stopped
  -StopTimeout DUR      how long to wait for the service to stop (default 60s)
  -MaxDown DUR          the longest the service stays down (default 2m); then it is started again
                        and the task is reported as still pending (exit 6)
  -RestartAfter WHEN    done (default): when the task has ended; queued: once it is queued
  -WaitTimeout DUR      with -RestartAfter queued: how long to wait for the result (default 30m)
  -Task PROGRAM         task program in the target's --tasks-dir (default snapshot-copy.sh)
  -TaskArg A,B,...      arguments for the task, passed verbatim
  -TaskTimeout DUR      how long the target holds applying while the task runs (default 10m)
  -On WHEN              execute (default) or receive
  -Smr PATH             the smr program (default smr)
  -StateDir DIR         the source daemon's state dir
  -Help                 show this help (also: Get-Help .\$Prog -Full)
"@
}

function ConvertTo-Seconds([string]$Duration) {
    if ($Duration -match '^(\d+)(s|m|h)?$') {
        $n = [int]$Matches[1]
        switch ($Matches[2]) {
            'h' { return $n * 3600 }
            'm' { return $n * 60 }
            default { return $n }
        }
    }
    Exit-With 2 "bad duration `"$Duration`" (use 90s, 10m or 2h)"
}

# Runs a command string; true when it neither threw nor returned $false nor left a failing exit code.
function Invoke-Check([string]$Command) {
    try {
        $global:LASTEXITCODE = 0
        $out = & ([scriptblock]::Create($Command)) 2>$null
        if ($LASTEXITCODE -ne 0) { return $false }
        return -not ($out -is [bool] -and -not $out)
    } catch {
        return $false
    }
}

function Invoke-UserCommand([string]$Command, [string]$What) {
    $global:LASTEXITCODE = 0
    & ([scriptblock]::Create($Command))
    if ($LASTEXITCODE -ne 0) { throw "$What exited with $LASTEXITCODE" }
}

# Windows runs npm's smr.ps1 shim in-process, and PowerShell may drop the "--" it is given; prefer
# an executable (smr.cmd / smr.exe), which receives the arguments as written.
function Resolve-Smr([string]$Name) {
    $app = Get-Command -Name $Name -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($app) { return $app.Source }
    $any = Get-Command -Name $Name -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($any) { return $any.Source }
    Exit-With 2 "smr program `"$Name`" not found (use -Smr PATH)"
}

if ($Help -or $Rest -contains '--help' -or $Rest -contains '-h') { Show-Usage; exit 0 }
if ($Rest.Count -gt 0) { Exit-With 2 "unknown argument `"$($Rest[0])`" (see -Help)" }
if (-not $Connection) { Exit-With 2 '-Connection NAME is required (see -Help)' }
if (-not $Task) { Exit-With 2 '-Task must not be empty' }
if ($Service) {
    if ($StopCommand -or $StartCommand) { Exit-With 2 'give either -Service or -StopCommand/-StartCommand, not both' }
    if (-not (Get-Service -Name $Service -ErrorAction SilentlyContinue)) { Exit-With 2 "no Windows service named `"$Service`"" }
} else {
    if (-not $StopCommand) { Exit-With 2 'give -Service NAME, or -StopCommand and -StartCommand (see -Help)' }
    if (-not $StartCommand) { Exit-With 2 '-StopCommand needs -StartCommand, so the service can always be restarted' }
}
$stopSeconds = ConvertTo-Seconds $StopTimeout
$maxDownSeconds = ConvertTo-Seconds $MaxDown
$waitSeconds = ConvertTo-Seconds $WaitTimeout
$null = ConvertTo-Seconds $TaskTimeout
if ($maxDownSeconds -le 0) { Exit-With 2 '-MaxDown must be more than 0' }
$smrPath = Resolve-Smr $Smr
$common = @()
if ($StateDir) { $common += @('--state-dir', $StateDir) }

# Runs smr with the arguments given; returns its exit code and its stdout as one string.
function Invoke-Smr([string[]]$Arguments) {
    $out = & $smrPath @Arguments
    return [pscustomobject]@{ Code = $LASTEXITCODE; Out = ($out -join "`n") }
}

# The task reaches the target only over a live link: check the connection before stopping anything,
# so that a typo, a stopped daemon or a stopped transmission never costs an outage.
$status = Invoke-Smr (@('status', $Connection, '--json') + $common)
if ($status.Code -ne 0) {
    $why = "smr status exited with $($status.Code)"
    try { $why = ($status.Out | ConvertFrom-Json).error.message } catch { }
    Exit-With $status.Code "cannot use connection ${Connection}: $why; nothing was stopped"
}
$conn = $status.Out | ConvertFrom-Json
if ($conn.transmit -ne 'started') {
    Exit-With 3 "connection ${Connection}: transmission is $($conn.transmit) (smr transmit start $Connection), so the task would not reach the target; nothing was stopped"
}
if ($conn.link -ne 'connected') {
    Exit-With 3 "connection ${Connection}: the link is $($conn.link), so the task would not reach the target; nothing was stopped"
}

# Waits at most $Seconds for the task's end and says how it ended; returns smr's exit code (0
# succeeded, 5 failed or rejected, 6 timed out on the target or still pending: $script:pending).
$script:pending = $false
function Wait-Task([string]$Id, [int]$Seconds) {
    $r = Invoke-Smr (@('tasks', 'wait', $Id, '--timeout', "${Seconds}s", '--json') + $common)
    $state = $null
    try { $state = ($r.Out | ConvertFrom-Json).state } catch { }
    switch ($r.Code) {
        0 { Write-Log "task $Id succeeded" }
        5 { Write-Log "task $Id failed or was rejected ($state, smr exit 5)" }
        6 { if ($state) { Write-Log "task $Id timed out on the target (smr exit 6)" } else { $script:pending = $true } }
        3 { Write-Log 'source daemon not running or target unreachable (smr exit 3)' }
        default { Write-Log "smr tasks wait exited with $($r.Code)" }
    }
    return $r.Code
}

function Test-Stopped {
    if ($StoppedCheck) { return (Invoke-Check $StoppedCheck) }
    if ($Service) { return ((Get-Service -Name $Service).Status -eq 'Stopped') }
    return $false # unknown: assume it is running, so that it is restarted
}

$dependents = @()
$mustRestart = $false
$downSince = Get-Date
$rc = 1

function Restart-TheService {
    if (-not $script:mustRestart) { return $true }
    $script:mustRestart = $false
    Write-Log "starting the service again (it was down $([int]((Get-Date) - $downSince).TotalSeconds)s)"
    try {
        if ($Service) {
            Start-Service -Name $Service
            foreach ($d in $script:dependents) { Start-Service -Name $d }
        } else {
            Invoke-UserCommand $StartCommand 'the start command' | Out-Host
        }
        return $true
    } catch {
        Write-Log "FAILED to restart the service: start it by hand ($($_.Exception.Message))"
        return $false
    }
}

try {
    if (Test-Stopped) {
        Write-Log 'the service is not running: it will be neither stopped nor started'
    } else {
        Write-Log "stopping the service (down for $MaxDown at most)"
        $script:mustRestart = $true # from here on the finally block starts it again, whatever happens
        $downSince = Get-Date
        try {
            if ($Service) {
                $svc = Get-Service -Name $Service
                $script:dependents = @($svc.DependentServices | Where-Object { $_.Status -eq 'Running' } | ForEach-Object { $_.Name })
                Stop-Service -Name $Service -Force
            } else {
                Invoke-UserCommand $StopCommand 'the stop command'
            }
        } catch {
            $rc = 1
            throw "the service could not be stopped: $($_.Exception.Message)"
        }
        if ($Service -or $StoppedCheck) {
            $deadline = (Get-Date).AddSeconds($stopSeconds)
            while (-not (Test-Stopped)) {
                if ((Get-Date) -ge $deadline) {
                    $rc = 6
                    throw "the service did not stop within ${StopTimeout}: no task queued"
                }
                Start-Sleep -Seconds 1
            }
        }
        Write-Log 'the service has stopped'
    }

    $queueArgs = @('queue-task', $Connection, '--on', $On, '--timeout', $TaskTimeout) + $common
    $queueArgs += @('--', $Task) + $TaskArg
    Write-Log "queueing task $Task on connection $Connection"
    $queued = Invoke-Smr $queueArgs
    if ($queued.Code -ne 0) {
        $rc = $queued.Code
        throw "smr queue-task exited with ${rc}: no task queued"
    }
    $taskId = $queued.Out.Trim()
    if ($taskId -notmatch '^[A-Za-z0-9._-]+$') {
        $rc = 1
        throw "smr queue-task printed `"$taskId`" instead of a task id"
    }
    Write-Log "task $taskId queued"

    if ($RestartAfter -eq 'queued') {
        if (-not (Restart-TheService)) {
            $rc = 1
        } elseif ($waitSeconds -le 0) {
            $rc = 0
        } else {
            $rc = Wait-Task $taskId $waitSeconds
            if ($script:pending) { Write-Log "task $taskId still pending after -WaitTimeout $WaitTimeout (follow it with: smr tasks wait $taskId)" }
        }
    } else {
        $left = [int]($maxDownSeconds - ((Get-Date) - $downSince).TotalSeconds)
        if ($left -lt 1) { $left = 1 }
        $rc = Wait-Task $taskId $left
        if ($script:pending) {
            Write-Log "task $taskId still pending after -MaxDown ${MaxDown}: the service is started again; the task stays queued and runs at the point where the service had stopped (follow it with: smr tasks wait $taskId)"
        }
    }
} catch {
    Write-Log "$($_.Exception.Message)"
    if ($rc -eq 0) { $rc = 1 }
} finally {
    if (-not (Restart-TheService)) {
        if ($rc -eq 0) { $rc = 1 }
    }
}
exit $rc
