#!/usr/bin/env bash
# smr-template: Target task: read-only btrfs snapshot of the replica subvolume ($SMR_TARGET_PATH).
#
# The replica must be a btrfs subvolume (make it one before the first mirror:
# `btrfs subvolume create /srv/replica/web`). A snapshot is atomic and takes no extra space until
# the replica changes. The last line printed is the snapshot's path.
set -euo pipefail
export LC_ALL=C

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG [--dest DIR] [--keep N]

Makes a read-only btrfs snapshot of the replica subvolume \$SMR_TARGET_PATH (set by smr) at
  <dirname>/<basename>.snapshots/<YYYYmmddTHHMMSSZ>-<\$SMR_TASK_ID or 'manual'>
(btrfs subvolume snapshot -r), then deletes the oldest beyond N. Prints the snapshot path last.

  --dest DIR     the snapshots folder, on the same btrfs filesystem (default: <replica>.snapshots)
  --keep N       snapshots to keep; 0 keeps all (default: 7)
  -h, --help     show this help

Needs btrfs-progs and the right to snapshot (root, or user_subvol_rm_allowed for pruning).
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

DEST=""
KEEP=7
need_value() { [[ $# -ge 2 ]] || die 2 "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dest) need_value "$@"; DEST=$2; shift 2 ;;
    --keep) need_value "$@"; KEEP=$2; shift 2 ;;
    *) die 2 "unknown option \"$1\" (see --help)" ;;
  esac
done
[[ $KEEP =~ ^[0-9]+$ ]] || die 2 "--keep must be a whole number, not \"$KEEP\""

SRC=${SMR_TARGET_PATH:-}
[[ -n $SRC ]] || die 2 "SMR_TARGET_PATH is empty: run this as an smr task on the target, or set it"
[[ $SRC == /* ]] || die 2 "SMR_TARGET_PATH must be an absolute path, not \"$SRC\""
[[ ! $SRC =~ ^[/.]+$ ]] || die 2 "refusing to snapshot \"/\": SMR_TARGET_PATH must be the replica's folder"
[[ -d $SRC ]] || die 2 "SMR_TARGET_PATH \"$SRC\" is not a directory"
SRC=$(cd -P -- "$SRC" && pwd -P)
while [[ $SRC == //* ]]; do SRC=${SRC#/}; done
[[ $SRC != / ]] || die 2 "refusing to snapshot \"/\": SMR_TARGET_PATH must be the replica's folder"

command -v btrfs >/dev/null 2>&1 || die 1 "btrfs command not found: install btrfs-progs (apt install btrfs-progs / dnf install btrfs-progs)"
btrfs subvolume show -- "$SRC" >/dev/null 2>&1 ||
  die 1 "$SRC is not a btrfs subvolume: create the replica with 'btrfs subvolume create' before the first mirror"

if [[ -z $DEST ]]; then DEST="${SRC%/*}/${SRC##*/}.snapshots"; fi
[[ $DEST == /* ]] || die 2 "--dest must be an absolute path, not \"$DEST\""
case "$DEST/" in "$SRC"/*) die 2 "the snapshots folder \"$DEST\" must not be inside the replica \"$SRC\"" ;; esac
mkdir -p -- "$DEST"

ID=${SMR_TASK_ID:-manual}
ID=${ID//[^A-Za-z0-9._-]/_}
NAME="$(date -u +%Y%m%dT%H%M%SZ)-$ID"
n=1
while [[ -e $DEST/$NAME ]]; do
  n=$((n + 1))
  NAME="$(date -u +%Y%m%dT%H%M%SZ)-$ID-$n"
done
FINAL=$DEST/$NAME

btrfs subvolume snapshot -r -- "$SRC" "$FINAL" >&2 || die 1 "btrfs could not snapshot $SRC into $FINAL"

if ((KEEP > 0)); then
  snapshots=()
  for entry in "$DEST"/*; do
    base=${entry##*/}
    if [[ $base =~ ^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9._-]+$ && -d $entry ]]; then snapshots+=("$entry"); fi
  done
  excess=$((${#snapshots[@]} - KEEP))
  for ((i = 0; i < excess; i++)); do
    log "deleting old snapshot ${snapshots[i]}"
    btrfs subvolume delete -- "${snapshots[i]}" >&2 || log "could not delete ${snapshots[i]}"
  done
fi

printf '%s\n' "$FINAL"
