#!/usr/bin/env bash
# smr-template: Target task: point-in-time copy of the replica ($SMR_TARGET_PATH) into a timestamped folder.
#
# Put it in the target's --tasks-dir (chmod +x) and queue it from the source, for instance with
# scripts/quiesce-and-snapshot.sh. The target applies nothing after the task until it ends (or the
# task's --timeout passes), so the copy is the replica exactly at the task's point in the stream.
# The last line printed is the snapshot's path.
set -euo pipefail
export LC_ALL=C

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG [--dest DIR] [--keep N] [--method auto|reflink|copy|hardlink]

Copies the replica \$SMR_TARGET_PATH (set by smr on the target) to
  <dirname>/<basename>.snapshots/<YYYYmmddTHHMMSSZ>-<\$SMR_TASK_ID or 'manual'>
writing into a ".partial" folder first and renaming it when complete; then keeps only the newest N
snapshots. Prints the snapshot's path on its last line.

  --dest DIR       the snapshots folder (default: beside the replica, <replica>.snapshots)
  --keep N         snapshots to keep, oldest removed first; 0 keeps all (default: 7)
  --method M       auto (default): a reflink copy where the filesystem supports it (btrfs, XFS,
                   ...), else a plain copy; reflink: reflink or fail; copy: plain copy (cp -a);
                   hardlink: hard links (cp -al), fast but see the warning below
  -h, --help       show this help

Warning on hardlink: hard-linked files share their data with the replica. smr rewrites changed files
in place on the replica, and such a write also changes the "snapshot". Use it only for data that is
replaced by new files, never modified in place.
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
METHOD=auto
need_value() { [[ $# -ge 2 ]] || die 2 "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dest) need_value "$@"; DEST=$2; shift 2 ;;
    --keep) need_value "$@"; KEEP=$2; shift 2 ;;
    --method) need_value "$@"; METHOD=$2; shift 2 ;;
    *) die 2 "unknown option \"$1\" (see --help)" ;;
  esac
done
[[ $KEEP =~ ^[0-9]+$ ]] || die 2 "--keep must be a whole number, not \"$KEEP\""
case "$METHOD" in auto | reflink | copy | hardlink) ;; *) die 2 "--method must be auto, reflink, copy or hardlink" ;; esac

# --- where from, where to ------------------------------------------------------------------------

SRC=${SMR_TARGET_PATH:-}
[[ -n $SRC ]] || die 2 "SMR_TARGET_PATH is empty: run this as an smr task on the target, or set it"
[[ $SRC == /* ]] || die 2 "SMR_TARGET_PATH must be an absolute path, not \"$SRC\""
[[ -d $SRC ]] || die 2 "SMR_TARGET_PATH \"$SRC\" is not a directory"
# Refuse the root however it is spelled (/, //, /., /../ ...) before and after resolving links.
[[ ! $SRC =~ ^[/.]+$ ]] || die 2 "refusing to snapshot \"/\": SMR_TARGET_PATH must be the replica's folder"
SRC=$(cd -P -- "$SRC" && pwd -P) # resolved: no symlinks, no trailing slash
while [[ $SRC == //* ]]; do SRC=${SRC#/}; done # bash keeps a leading "//"
[[ $SRC != / ]] || die 2 "refusing to snapshot \"/\": SMR_TARGET_PATH must be the replica's folder"

inside_replica() { case "$1/" in "$SRC"/*) return 0 ;; *) return 1 ;; esac; }
if [[ -z $DEST ]]; then DEST="${SRC%/*}/${SRC##*/}.snapshots"; fi
[[ $DEST == /* ]] || die 2 "--dest must be an absolute path, not \"$DEST\""
# Checked before creating it (as written) and after (resolved): nothing may be made in the replica.
! inside_replica "$DEST" || die 2 "the snapshots folder \"$DEST\" must not be inside the replica \"$SRC\""
mkdir -p -- "$DEST"
DEST=$(cd -P -- "$DEST" && pwd -P)
while [[ $DEST == //* ]]; do DEST=${DEST#/}; done
! inside_replica "$DEST" || die 2 "the snapshots folder \"$DEST\" must not be inside the replica \"$SRC\""

# Snapshot names: a UTC timestamp (sorts by age), then the task id made file-name safe.
ID=${SMR_TASK_ID:-manual}
ID=${ID//[^A-Za-z0-9._-]/_}
NAME="$(date -u +%Y%m%dT%H%M%SZ)-$ID"
n=1
while [[ -e $DEST/$NAME || -e $DEST/$NAME.partial ]]; do
  n=$((n + 1))
  NAME="$(date -u +%Y%m%dT%H%M%SZ)-$ID-$n"
done
FINAL=$DEST/$NAME
PARTIAL=$FINAL.partial

remove_tree() {
  # A copy keeps read-only folders read-only; make them writable so a non-root user can remove them.
  rm -rf -- "$1" 2>/dev/null || { chmod -R u+w -- "$1" && rm -rf -- "$1"; }
}

# shellcheck disable=SC2317 # called by the shell on exit
cleanup() {
  if [[ -e $PARTIAL ]]; then remove_tree "$PARTIAL" || log "could not remove $PARTIAL"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- copy ----------------------------------------------------------------------------------------

copy_with() {
  case "$1" in
    reflink) cp -a --reflink=always -- "$SRC" "$PARTIAL" ;;
    copy) cp -a -- "$SRC" "$PARTIAL" ;;
    hardlink) cp -al -- "$SRC" "$PARTIAL" ;;
  esac
}

case "$METHOD" in
  auto)
    if copy_with reflink 2>/dev/null; then
      USED=reflink
    else
      remove_tree "$PARTIAL" 2>/dev/null || true
      copy_with copy
      USED=copy
    fi
    ;;
  *)
    copy_with "$METHOD" || die 1 "the $METHOD copy of $SRC failed"
    USED=$METHOD
    ;;
esac
mv -- "$PARTIAL" "$FINAL"
log "snapshot made with method: $USED"

# --- keep the newest N ---------------------------------------------------------------------------

if ((KEEP > 0)); then
  snapshots=()
  for entry in "$DEST"/*; do
    base=${entry##*/}
    # Only names this script makes, complete ones: never anything else in the folder.
    if [[ $base =~ ^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9._-]+$ && $base != *.partial && -d $entry ]]; then
      snapshots+=("$entry")
    fi
  done
  excess=$((${#snapshots[@]} - KEEP))
  for ((i = 0; i < excess; i++)); do
    log "removing old snapshot ${snapshots[i]}"
    remove_tree "${snapshots[i]}" || log "could not remove ${snapshots[i]}"
  done
fi

for entry in "$DEST"/*.partial; do
  if [[ -e $entry ]]; then log "note: leftover unfinished snapshot $entry (remove it if no copy is running)"; fi
done

printf '%s\n' "$FINAL"
