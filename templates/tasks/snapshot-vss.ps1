#Requires -Version 5.1
# smr-template: Target task (Windows): VSS shadow copy of the volume holding the replica ($env:SMR_TARGET_PATH).

<#
.SYNOPSIS
Makes a Volume Shadow Copy of the volume that holds the smr replica, links it beside the replica,
and keeps the newest N.

.DESCRIPTION
Runs on a Windows TARGET as an smr task (put it in the target's --tasks-dir; smr runs .ps1 tasks
with powershell.exe -File). Creates a ClientAccessible shadow copy of the replica's volume with
Win32_ShadowCopy.Create (falling back to vssadmin, which only Windows Server has), then makes a
directory link
    <replica>.snapshots\<yyyyMMddTHHmmssZ>-<SMR_TASK_ID or manual>
pointing at the replica's folder inside the shadow copy. Shadow copies this script made beyond -Keep
are deleted, oldest first; it records them in <snapshots folder>\smr-vss-shadows.txt and never
touches any other shadow copy. Prints the link (or, with -NoLink, the shadow path) on its last line.
Needs an elevated (administrator) session, as the smr target service normally is.

.PARAMETER Dest
The snapshots folder (default: beside the replica, <replica>.snapshots).
.PARAMETER Keep
Shadow copies to keep; 0 keeps all (default 7).
.PARAMETER NoLink
Do not make the directory link; print the shadow copy's device path instead.
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    [string]$Dest,
    [ValidateRange(0, 512)][int]$Keep = 7,
    [switch]$NoLink,
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
    "Usage: $Prog [-Dest DIR] [-Keep N] [-NoLink]"
    'VSS shadow copy of the volume holding $env:SMR_TARGET_PATH, linked as <replica>.snapshots\<time>-<task id>.'
    "See: Get-Help .\$Prog -Full"
    exit 0
}
if ($Rest.Count -gt 0) { Exit-With 2 "unknown argument `"$($Rest[0])`" (see -Help)" }

$src = $env:SMR_TARGET_PATH
if (-not $src) { Exit-With 2 'SMR_TARGET_PATH is empty: run this as an smr task on the target, or set it' }
if (-not [System.IO.Path]::IsPathRooted($src)) { Exit-With 2 "SMR_TARGET_PATH must be an absolute path, not `"$src`"" }
if (-not (Test-Path -LiteralPath $src -PathType Container)) { Exit-With 2 "SMR_TARGET_PATH `"$src`" is not a folder" }
$src = (Resolve-Path -LiteralPath $src).ProviderPath.TrimEnd('\')
$volume = [System.IO.Path]::GetPathRoot($src + '\')
if (-not $volume -or $volume -notmatch '^[A-Za-z]:\\$') { Exit-With 2 "the replica `"$src`" is not on a lettered local volume" }
if ($src.Length -le 2) { Exit-With 2 "refusing to snapshot a whole volume root `"$volume`": SMR_TARGET_PATH must be the replica's folder" }
$relative = $src.Substring($volume.Length)

if (-not $Dest) { $Dest = "$src.snapshots" }
$Dest = [System.IO.Path]::GetFullPath($Dest)
if (($Dest + '\').StartsWith($src + '\', [StringComparison]::OrdinalIgnoreCase)) {
    Exit-With 2 "the snapshots folder `"$Dest`" must not be inside the replica `"$src`""
}
New-Item -ItemType Directory -Force -Path $Dest | Out-Null
$registry = Join-Path $Dest 'smr-vss-shadows.txt'

$id = if ($env:SMR_TASK_ID) { $env:SMR_TASK_ID } else { 'manual' }
$id = $id -replace '[^A-Za-z0-9._-]', '_'
$name = '{0}-{1}' -f (Get-Date).ToUniversalTime().ToString("yyyyMMdd'T'HHmmss'Z'"), $id
$n = 1
$base = $name
while (Test-Path -LiteralPath (Join-Path $Dest $name)) { $n++; $name = "$base-$n" }

function New-ShadowCopy([string]$Volume) {
    try {
        $r = Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = $Volume; Context = 'ClientAccessible' }
        if ($r.ReturnValue -eq 0) { return $r.ShadowID }
        Write-Log "Win32_ShadowCopy.Create returned $($r.ReturnValue); trying vssadmin"
    } catch {
        Write-Log "Win32_ShadowCopy.Create failed ($($_.Exception.Message)); trying vssadmin"
    }
    if (-not (Get-Command vssadmin.exe -ErrorAction SilentlyContinue)) { Exit-With 1 'vssadmin.exe not found and WMI failed: cannot make a shadow copy' }
    $out = & vssadmin.exe create shadow "/for=$($Volume.TrimEnd('\'))" 2>&1 | Out-String
    if ($LASTEXITCODE -ne 0 -or $out -notmatch 'Shadow Copy ID:\s*(\{[0-9A-Fa-f-]+\})') {
        Exit-With 1 "vssadmin could not make a shadow copy of ${Volume}: $($out.Trim())"
    }
    return $Matches[1]
}

$shadowId = New-ShadowCopy $volume
$shadow = Get-CimInstance -ClassName Win32_ShadowCopy | Where-Object { $_.ID -eq $shadowId }
if (-not $shadow) { Exit-With 1 "shadow copy $shadowId was made but cannot be found" }
$shadowPath = '{0}\{1}' -f $shadow.DeviceObject.TrimEnd('\'), $relative
Add-Content -LiteralPath $registry -Value "$name`t$shadowId"
Write-Log "shadow copy $shadowId of $volume made"

$result = $shadowPath
if (-not $NoLink) {
    $link = Join-Path $Dest $name
    # mklink /d: a directory symbolic link into the shadow copy (the trailing \ is required).
    & cmd.exe /d /c mklink /d "$link" "$shadowPath\" | Out-Null
    if ($LASTEXITCODE -ne 0) { Exit-With 1 "could not link $link to $shadowPath" }
    $result = $link
}

if ($Keep -gt 0) {
    $entries = @(Get-Content -LiteralPath $registry | Where-Object { $_ -match "^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9._-]+`t\{[0-9A-Fa-f-]+\}$" })
    $excess = $entries.Count - $Keep
    $kept = @()
    for ($i = 0; $i -lt $entries.Count; $i++) {
        if ($i -ge $excess) { $kept += $entries[$i]; continue }
        $old, $oldId = $entries[$i] -split "`t"
        Write-Log "deleting old shadow copy $oldId ($old)"
        $oldLink = Join-Path $Dest $old
        # rmdir removes the link only, never what it points to.
        if (Test-Path -LiteralPath $oldLink) { & cmd.exe /d /c rmdir "$oldLink" | Out-Null }
        try {
            Get-CimInstance -ClassName Win32_ShadowCopy | Where-Object { $_.ID -eq $oldId } | Remove-CimInstance
        } catch {
            Write-Log "could not delete shadow copy ${oldId}: $($_.Exception.Message)"
            $kept += $entries[$i]
        }
    }
    Set-Content -LiteralPath $registry -Value $kept
}

$result
