#!/usr/bin/env bash
# smr-template: Remirror a connection (full, diff or checksum), then verify it and report.
#
# Runs on the SOURCE, by hand or from cron (a weekly checksum remirror catches what nothing else
# would: bit rot, or changes made on the replica behind smr's back).
# Exit code: verify's (0 equal, 4 differences), or the code of the step that failed (3 daemon or
# target down, 2 usage or unknown connection, 6 timed out, ...).
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG --connection NAME [--mode diff|full|checksum] [options]

Runs  smr mirror start NAME --mode MODE --wait,  then  smr verify NAME,  and reports the result.

  --connection NAME    the smr connection (required)
  --mode MODE          diff (default: size and time, then changed blocks), full (every file whole)
                       or checksum (every block of every file compared)
  --verify-mode MODE   diff or checksum (default: checksum after a checksum mirror, else diff)
  --report FILE        also write verify's list of differences to FILE
  --smr PATH           the smr program (default: smr)
  --state-dir DIR      the source daemon's state dir (default: smr's own default)
  -h, --help           show this help
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

SMR=smr
CONNECTION=""
MODE="diff"
VERIFY_MODE=""
REPORT=""
STATE_DIR=""
need_value() { [[ $# -ge 2 ]] || die 2 "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --connection) need_value "$@"; CONNECTION=$2; shift 2 ;;
    --mode) need_value "$@"; MODE=$2; shift 2 ;;
    --verify-mode) need_value "$@"; VERIFY_MODE=$2; shift 2 ;;
    --report) need_value "$@"; REPORT=$2; shift 2 ;;
    --smr) need_value "$@"; SMR=$2; shift 2 ;;
    --state-dir) need_value "$@"; STATE_DIR=$2; shift 2 ;;
    *) die 2 "unknown option \"$1\" (see --help)" ;;
  esac
done
[[ -n $CONNECTION ]] || die 2 "--connection NAME is required (see --help)"
case "$MODE" in diff | full | checksum) ;; *) die 2 "--mode must be diff, full or checksum, not \"$MODE\"" ;; esac
if [[ -z $VERIFY_MODE ]]; then
  if [[ $MODE == checksum ]]; then VERIFY_MODE=checksum; else VERIFY_MODE="diff"; fi
fi
case "$VERIFY_MODE" in diff | checksum) ;; *) die 2 "--verify-mode must be diff or checksum" ;; esac
command -v "$SMR" >/dev/null 2>&1 || die 2 "smr program \"$SMR\" not found (use --smr PATH)"

common=()
if [[ -n $STATE_DIR ]]; then common+=(--state-dir "$STATE_DIR"); fi

log "mirroring $CONNECTION ($MODE)"
rc=0
"$SMR" mirror start "$CONNECTION" --mode "$MODE" --wait ${common[@]+"${common[@]}"} || rc=$?
if ((rc != 0)); then
  log "FAILED: the $MODE mirror of $CONNECTION did not complete (smr exit $rc); not verified"
  exit "$rc"
fi

verify_args=(verify "$CONNECTION" --mode "$VERIFY_MODE")
if [[ -n $REPORT ]]; then verify_args+=(--report "$REPORT"); fi
log "verifying $CONNECTION ($VERIFY_MODE)"
"$SMR" "${verify_args[@]}" ${common[@]+"${common[@]}"} || rc=$?
case "$rc" in
  0) log "OK: $CONNECTION mirrored ($MODE) and verified ($VERIFY_MODE): source and target match" ;;
  4) log "DIFFERENCES: $CONNECTION still differs after the $MODE mirror (listed above${REPORT:+, and in $REPORT})" ;;
  *) log "FAILED: verify of $CONNECTION exited with $rc" ;;
esac
exit "$rc"
