#!/usr/bin/env bash
# smr-template: Target task: ZFS snapshot (dataset@name) of the dataset holding the replica ($SMR_TARGET_PATH).
#
# A ZFS snapshot is atomic and free until the data changes. It covers the whole dataset: give each
# replica its own dataset (`zfs create tank/replica/web`) so a snapshot holds that replica only.
# The last line printed is the snapshot's name, dataset@snapshot.
set -euo pipefail
export LC_ALL=C

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG [--dataset NAME] [--prefix P] [--keep N] [--recursive]

Snapshots the ZFS dataset mounted at (or holding) the replica \$SMR_TARGET_PATH (set by smr) as
  DATASET@<prefix>-<YYYYmmddTHHMMSSZ>-<\$SMR_TASK_ID or 'manual'>
then destroys the oldest of this script's snapshots beyond N. Prints dataset@snapshot last; the
files are readable under <mountpoint>/.zfs/snapshot/<snapshot>/.

  --dataset NAME   the dataset (default: found from the mounts, longest mountpoint holding the replica)
  --prefix P       snapshot name prefix; pruning only touches names with it (default: smr)
  --keep N         snapshots to keep; 0 keeps all (default: 7)
  --recursive      snapshot (and prune) child datasets too (zfs snapshot -r)
  -h, --help       show this help

Needs the zfs command and the right to snapshot (root, or 'zfs allow' snapshot,destroy,mount).
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

DATASET=""
PREFIX=smr
KEEP=7
RECURSIVE=()
need_value() { [[ $# -ge 2 ]] || die 2 "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dataset) need_value "$@"; DATASET=$2; shift 2 ;;
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --keep) need_value "$@"; KEEP=$2; shift 2 ;;
    --recursive) RECURSIVE=(-r); shift ;;
    *) die 2 "unknown option \"$1\" (see --help)" ;;
  esac
done
[[ $KEEP =~ ^[0-9]+$ ]] || die 2 "--keep must be a whole number, not \"$KEEP\""
[[ $PREFIX =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die 2 "--prefix may hold letters, digits, '.', '_' and '-' only"

SRC=${SMR_TARGET_PATH:-}
[[ -n $SRC ]] || die 2 "SMR_TARGET_PATH is empty: run this as an smr task on the target, or set it"
[[ $SRC == /* ]] || die 2 "SMR_TARGET_PATH must be an absolute path, not \"$SRC\""
[[ ! $SRC =~ ^[/.]+$ ]] || die 2 "refusing to snapshot \"/\": SMR_TARGET_PATH must be the replica's folder"
[[ -d $SRC ]] || die 2 "SMR_TARGET_PATH \"$SRC\" is not a directory"
SRC=$(cd -P -- "$SRC" && pwd -P)
while [[ $SRC == //* ]]; do SRC=${SRC#/}; done
[[ $SRC != / ]] || die 2 "refusing to snapshot \"/\": SMR_TARGET_PATH must be the replica's folder"

command -v zfs >/dev/null 2>&1 || die 1 "zfs command not found: install ZFS (apt install zfsutils-linux)"

# The dataset whose mountpoint is the longest prefix of the replica's path.
MOUNTPOINT=""
if [[ -z $DATASET ]]; then
  while IFS=$'\t' read -r name mnt; do
    [[ $mnt == /* ]] || continue
    case "$SRC/" in
      "${mnt%/}"/*)
        if ((${#mnt} > ${#MOUNTPOINT})); then
          DATASET=$name
          MOUNTPOINT=$mnt
        fi
        ;;
    esac
  done < <(zfs list -H -t filesystem -o name,mountpoint)
  [[ -n $DATASET ]] || die 1 "$SRC is not on a mounted ZFS dataset (give --dataset NAME)"
  if [[ ${MOUNTPOINT%/} != "$SRC" ]]; then
    log "note: $DATASET is mounted at $MOUNTPOINT; the snapshot holds all of it, not only $SRC"
  fi
fi
zfs list -H -o name -- "$DATASET" >/dev/null 2>&1 || die 1 "no ZFS dataset \"$DATASET\""

ID=${SMR_TASK_ID:-manual}
ID=${ID//[^A-Za-z0-9._-]/_}
SNAP="$PREFIX-$(date -u +%Y%m%dT%H%M%SZ)-$ID"
n=1
while zfs list -H -t snapshot -o name -- "$DATASET@$SNAP" >/dev/null 2>&1; do
  n=$((n + 1))
  SNAP="$PREFIX-$(date -u +%Y%m%dT%H%M%SZ)-$ID-$n"
done

zfs snapshot ${RECURSIVE[@]+"${RECURSIVE[@]}"} -- "$DATASET@$SNAP" >&2 || die 1 "zfs could not snapshot $DATASET@$SNAP"

if ((KEEP > 0)); then
  snapshots=()
  while IFS= read -r snap; do
    # Only this script's snapshots of this very dataset, oldest first (sorted by creation).
    if [[ $snap =~ ^[^@]+@[A-Za-z0-9._-]+$ && ${snap%%@*} == "$DATASET" ]]; then
      name=${snap#*@}
      if [[ $name =~ ^"$PREFIX"-[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9._-]+$ ]]; then snapshots+=("$snap"); fi
    fi
  done < <(zfs list -H -t snapshot -o name -s creation -d 1 -- "$DATASET")
  excess=$((${#snapshots[@]} - KEEP))
  for ((i = 0; i < excess; i++)); do
    log "destroying old snapshot ${snapshots[i]}"
    zfs destroy ${RECURSIVE[@]+"${RECURSIVE[@]}"} -- "${snapshots[i]}" >&2 || log "could not destroy ${snapshots[i]}"
  done
fi

printf '%s\n' "$DATASET@$SNAP"
