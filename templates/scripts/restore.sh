#!/usr/bin/env bash
# smr-template: Restore a connection's replica to the source: stop the service, restore, verify, start it again.
#
# Runs on the SOURCE, by hand, on the day the replica is needed back (the counterpart of
# quiesce-and-snapshot.sh). The service that writes into the connection's path is stopped first, so
# nothing writes while the replica (or one of its snapshots, --from-snapshot) is copied back; smr
# holds replication of the path while it writes, then a diff mirror confirms both sides agree; the
# script then verifies and starts the service again. On a failure the service is left STOPPED (its
# data is not what it should be) and the script says so.
# Exit code: 0 restored and verified; else the code of the step that failed (2 usage, refused over
# newer source files, or unknown connection; 3 daemon or target down; 4 verify found differences).
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG --connection NAME [--service UNIT | --stop-cmd CMD --start-cmd CMD] [options]

Stops the service, runs  smr restore NAME --wait,  then  smr verify NAME,  then starts the service.

  --connection NAME      the smr connection (required)
  --service UNIT         a systemd unit to stop and start (systemctl stop/start UNIT)
  --stop-cmd CMD         your own stop command (run with bash -c), instead of --service
  --start-cmd CMD        your own start command (run with bash -c), instead of --service
  --mode MODE            diff (default), full or checksum (see smr restore --help)
  --from-snapshot NAME   restore this snapshot of the replica (made by the snapshot tasks)
  --force                overwrite source files newer than the replica (else smr refuses, listing them)
  --verify-mode MODE     diff or checksum (default: checksum after a checksum restore, else diff)
  --smr PATH             the smr program (default: smr)
  --state-dir DIR        the source daemon's state dir (default: smr's own default)
  -h, --help             show this help
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
SERVICE=""
STOP_CMD=""
START_CMD=""
MODE="diff"
SNAPSHOT=""
FORCE=0
VERIFY_MODE=""
STATE_DIR=""
need_value() { [[ $# -ge 2 ]] || die 2 "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --connection) need_value "$@"; CONNECTION=$2; shift 2 ;;
    --service) need_value "$@"; SERVICE=$2; shift 2 ;;
    --stop-cmd) need_value "$@"; STOP_CMD=$2; shift 2 ;;
    --start-cmd) need_value "$@"; START_CMD=$2; shift 2 ;;
    --mode) need_value "$@"; MODE=$2; shift 2 ;;
    --from-snapshot) need_value "$@"; SNAPSHOT=$2; shift 2 ;;
    --force) FORCE=1; shift ;;
    --verify-mode) need_value "$@"; VERIFY_MODE=$2; shift 2 ;;
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
if [[ -n $SERVICE && (-n $STOP_CMD || -n $START_CMD) ]]; then
  die 2 "give --service or --stop-cmd/--start-cmd, not both"
fi
if [[ -n $STOP_CMD || -n $START_CMD ]] && [[ -z $STOP_CMD || -z $START_CMD ]]; then
  die 2 "--stop-cmd and --start-cmd go together"
fi
command -v "$SMR" >/dev/null 2>&1 || die 2 "smr program \"$SMR\" not found (use --smr PATH)"

common=()
if [[ -n $STATE_DIR ]]; then common+=(--state-dir "$STATE_DIR"); fi

stop_service() {
  if [[ -n $SERVICE ]]; then
    systemctl stop "$SERVICE"
  elif [[ -n $STOP_CMD ]]; then
    bash -c "$STOP_CMD"
  fi
}
start_service() {
  if [[ -n $SERVICE ]]; then
    systemctl start "$SERVICE"
  elif [[ -n $START_CMD ]]; then
    bash -c "$START_CMD"
  fi
}

# Nothing is stopped unless the target can be reached: a restore needs it.
rc=0
status=$("$SMR" status "$CONNECTION" --json ${common[@]+"${common[@]}"}) || rc=$?
if ((rc != 0)); then
  log "FAILED: smr status $CONNECTION exited with $rc; nothing stopped, nothing restored"
  exit "$rc"
fi
if [[ $status != *'"link":"connected"'* ]]; then
  die 3 "$CONNECTION is not connected to its target; nothing stopped, nothing restored"
fi

log "stopping the service"
stop_service || die 1 "the stop command failed; nothing restored"

restore_args=(restore "$CONNECTION" --mode "$MODE" --wait)
if [[ -n $SNAPSHOT ]]; then restore_args+=(--from-snapshot "$SNAPSHOT"); fi
if ((FORCE)); then restore_args+=(--force); fi
log "restoring $CONNECTION ($MODE${SNAPSHOT:+, from snapshot $SNAPSHOT})"
"$SMR" "${restore_args[@]}" ${common[@]+"${common[@]}"} || rc=$?
if ((rc != 0)); then
  log "FAILED: the restore of $CONNECTION exited with $rc; the service is left STOPPED"
  exit "$rc"
fi

log "verifying $CONNECTION ($VERIFY_MODE)"
"$SMR" verify "$CONNECTION" --mode "$VERIFY_MODE" ${common[@]+"${common[@]}"} || rc=$?
if ((rc != 0)); then
  log "FAILED: verify of $CONNECTION exited with $rc after the restore; the service is left STOPPED"
  exit "$rc"
fi

log "starting the service"
start_service || die 1 "the start command failed after a good restore; start the service by hand"
log "OK: $CONNECTION restored ($MODE) and verified ($VERIFY_MODE); the service is started"
