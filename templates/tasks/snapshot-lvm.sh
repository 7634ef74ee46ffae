#!/usr/bin/env bash
# smr-template: Target task: LVM snapshot (lvcreate -s) of the logical volume holding the replica ($SMR_TARGET_PATH).
#
# lvcreate freezes a mounted filesystem while it takes the snapshot, so the snapshot is consistent.
# A classic (thick) snapshot needs free extents in the volume group and becomes invalid when they
# fill up: size it for the changes expected while it is kept. Thin volumes need no size.
# The last line printed is the snapshot volume, VG/LV.
set -euo pipefail
export LC_ALL=C

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG [--lv VG/LV] [--size SIZE] [--prefix P] [--keep N]

Snapshots the logical volume that holds the replica \$SMR_TARGET_PATH (set by smr) as
  VG/<prefix>_<YYYYmmddTHHMMSSZ>_<\$SMR_TASK_ID or 'manual'>
(lvcreate -s), then removes the oldest of this script's snapshots of that volume beyond N.
Prints VG/snapshot last; mount it read-only to read it (mount -o ro /dev/VG/NAME /mnt; XFS also
needs -o nouuid).

  --lv VG/LV     the origin volume (default: found from the filesystem mounted at the replica)
  --size SIZE    space for changes, as lvcreate -L (like 5G) or -l (like 20%ORIGIN, the default);
                 ignored for thin volumes
  --prefix P     snapshot name prefix; pruning only touches names with it (default: smr)
  --keep N       snapshots to keep; 0 keeps all (default: 7)
  -h, --help     show this help

Needs lvm2 (lvcreate, lvs, lvremove), findmnt, and root.
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

LV=""
SIZE=20%ORIGIN
PREFIX=smr
KEEP=7
need_value() { [[ $# -ge 2 ]] || die 2 "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --lv) need_value "$@"; LV=$2; shift 2 ;;
    --size) need_value "$@"; SIZE=$2; shift 2 ;;
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --keep) need_value "$@"; KEEP=$2; shift 2 ;;
    *) die 2 "unknown option \"$1\" (see --help)" ;;
  esac
done
[[ $KEEP =~ ^[0-9]+$ ]] || die 2 "--keep must be a whole number, not \"$KEEP\""
[[ $PREFIX =~ ^[A-Za-z0-9][A-Za-z0-9.+-]*$ ]] || die 2 "--prefix may hold letters, digits, '.', '+' and '-' only"
[[ $SIZE =~ ^[0-9]+(\.[0-9]+)?[bBsSkKmMgGtTpPeE]?$ || $SIZE =~ ^[0-9]+%(ORIGIN|VG|FREE|PVS)$ ]] ||
  die 2 "--size must look like 5G or 20%ORIGIN, not \"$SIZE\""

SRC=${SMR_TARGET_PATH:-}
[[ -n $SRC ]] || die 2 "SMR_TARGET_PATH is empty: run this as an smr task on the target, or set it"
[[ $SRC == /* ]] || die 2 "SMR_TARGET_PATH must be an absolute path, not \"$SRC\""
[[ ! $SRC =~ ^[/.]+$ ]] || die 2 "refusing to snapshot \"/\": SMR_TARGET_PATH must be the replica's folder"
[[ -d $SRC ]] || die 2 "SMR_TARGET_PATH \"$SRC\" is not a directory"

for tool in lvcreate lvs lvremove; do
  command -v "$tool" >/dev/null 2>&1 || die 1 "$tool not found: install lvm2 (apt install lvm2 / dnf install lvm2)"
done

if [[ -z $LV ]]; then
  command -v findmnt >/dev/null 2>&1 || die 1 "findmnt not found (util-linux): give --lv VG/LV"
  DEVICE=$(findmnt -n -o SOURCE --target "$SRC") || die 1 "cannot find the filesystem holding $SRC"
  LV=$(lvs --noheadings -o vg_name,lv_name -- "$DEVICE" 2>/dev/null | awk 'NF == 2 { print $1 "/" $2; exit }') || true
  [[ -n $LV ]] || die 1 "$SRC is on $DEVICE, which is not an LVM logical volume (give --lv VG/LV)"
  log "note: the snapshot holds the whole volume $LV, not only $SRC"
fi
[[ $LV =~ ^[A-Za-z0-9.+_-]+/[A-Za-z0-9.+_-]+$ ]] || die 2 "--lv must be VG/LV, not \"$LV\""
VG=${LV%%/*}
ORIGIN=${LV#*/}
SEGTYPE=$(lvs --noheadings -o segtype -- "$LV" 2>/dev/null | awk '{ print $1; exit }') || true
[[ -n $SEGTYPE ]] || die 1 "no logical volume \"$LV\""

ID=${SMR_TASK_ID:-manual}
ID=${ID//[^A-Za-z0-9.+-]/-}
NAME="${PREFIX}_$(date -u +%Y%m%dT%H%M%SZ)_$ID"
n=1
while lvs -- "$VG/$NAME" >/dev/null 2>&1; do
  n=$((n + 1))
  NAME="${PREFIX}_$(date -u +%Y%m%dT%H%M%SZ)_$ID-$n"
done

size_args=()
if [[ $SEGTYPE != thin ]]; then
  if [[ $SIZE == *%* ]]; then size_args=(-l "$SIZE"); else size_args=(-L "$SIZE"); fi
fi
lvcreate ${size_args[@]+"${size_args[@]}"} -s -n "$NAME" -- "$LV" >&2 || die 1 "lvcreate could not snapshot $LV"

if ((KEEP > 0)); then
  snapshots=()
  while read -r name origin; do
    if [[ $origin == "$ORIGIN" && $name =~ ^"$PREFIX"_[0-9]{8}T[0-9]{6}Z_[A-Za-z0-9.+-]+$ ]]; then
      snapshots+=("$name")
    fi
  done < <(lvs --noheadings -o lv_name,origin -- "$VG" | sort -k1,1)
  excess=$((${#snapshots[@]} - KEEP))
  for ((i = 0; i < excess; i++)); do
    log "removing old snapshot $VG/${snapshots[i]}"
    lvremove -y -- "$VG/${snapshots[i]}" >&2 || log "could not remove $VG/${snapshots[i]}"
  done
fi

printf '%s\n' "$VG/$NAME"
