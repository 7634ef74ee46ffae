#!/usr/bin/env bash
# smr-template: Stop a service, queue a snapshot task in line with replication, always restart the service.
#
# Runs on the SOURCE. The replica on the target reaches the task at exactly the point where the
# service had stopped and written everything to disk, so the snapshot taken there is application
# consistent, not merely crash consistent. See `--help`.
#
# Exit code: smr's (0 task succeeded, 5 task failed or was rejected, 6 task timed out, 3 daemon or
# target down, 2 usage), 6 also when the service did not stop within --stop-timeout, 1 when the
# service could not be stopped or restarted.
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG --connection NAME (--service UNIT | --stop-cmd CMD --start-cmd CMD) [options]

Stops a service, waits until it has stopped, inserts a task into the smr replication queue of
CONNECTION (smr queue-task --on execute --wait), and always restarts the service afterwards, even
when something failed. A service that was not running beforehand is neither stopped nor started.

Service (one of):
  --service UNIT         a systemd unit, stopped and started with systemctl
  --stop-cmd CMD         a shell command that stops the service (run with bash -c)
  --start-cmd CMD        a shell command that starts it again (required with --stop-cmd)
  --stopped-check CMD    a shell command that succeeds once the service has stopped; polled after
                         stopping, and run first to learn whether the service is running at all
                         (without it, a --stop-cmd service is assumed to be running)
  --stop-timeout DUR     how long to wait for the service to stop (default: 60s)

Task:
  --connection NAME      the smr connection (required)
  --task PROGRAM         task program in the target's --tasks-dir (default: snapshot-copy.sh)
  --task-arg ARG         an argument for the task; repeat for more (passed verbatim)
  --task-timeout DUR     how long the target holds applying while the task runs (default: 10m)
  --on WHEN              execute (default) or receive
  --smr PATH             the smr program (default: smr)
  --state-dir DIR        the source daemon's state dir (default: smr's own default)
  -h, --help             show this help

Durations: 90s, 10m, 2h. Example:
  $PROG --connection web --service postgresql --task snapshot-copy.sh --task-arg --keep --task-arg 14
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

# Seconds in a duration like 90s, 10m, 2h or a plain number of seconds.
to_seconds() {
  local d=$1
  if [[ $d =~ ^([0-9]+)(s|m|h)?$ ]]; then
    case "${BASH_REMATCH[2]}" in
      h) echo $((BASH_REMATCH[1] * 3600)) ;;
      m) echo $((BASH_REMATCH[1] * 60)) ;;
      *) echo $((BASH_REMATCH[1])) ;;
    esac
  else
    die 2 "bad duration \"$d\" (use 90s, 10m or 2h)"
  fi
}

SMR=smr
CONNECTION=""
SERVICE=""
STOP_CMD=""
START_CMD=""
STOPPED_CHECK=""
STOP_TIMEOUT=60s
TASK=snapshot-copy.sh
TASK_ARGS=()
TASK_TIMEOUT=10m
ON=execute
STATE_DIR=""

need_value() { [[ $# -ge 2 ]] || die 2 "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --smr) need_value "$@"; SMR=$2; shift 2 ;;
    --connection) need_value "$@"; CONNECTION=$2; shift 2 ;;
    --service) need_value "$@"; SERVICE=$2; shift 2 ;;
    --stop-cmd) need_value "$@"; STOP_CMD=$2; shift 2 ;;
    --start-cmd) need_value "$@"; START_CMD=$2; shift 2 ;;
    --stopped-check) need_value "$@"; STOPPED_CHECK=$2; shift 2 ;;
    --stop-timeout) need_value "$@"; STOP_TIMEOUT=$2; shift 2 ;;
    --task) need_value "$@"; TASK=$2; shift 2 ;;
    --task-arg) need_value "$@"; TASK_ARGS+=("$2"); shift 2 ;;
    --task-timeout) need_value "$@"; TASK_TIMEOUT=$2; shift 2 ;;
    --on) need_value "$@"; ON=$2; shift 2 ;;
    --state-dir) need_value "$@"; STATE_DIR=$2; shift 2 ;;
    *) die 2 "unknown option \"$1\" (see --help)" ;;
  esac
done

[[ -n $CONNECTION ]] || die 2 "--connection NAME is required (see --help)"
[[ -n $TASK ]] || die 2 "--task must not be empty"
case "$ON" in execute | receive) ;; *) die 2 "--on must be execute or receive, not \"$ON\"" ;; esac
if [[ -n $SERVICE ]]; then
  [[ -z $STOP_CMD && -z $START_CMD ]] || die 2 "give either --service or --stop-cmd/--start-cmd, not both"
  command -v systemctl >/dev/null 2>&1 || die 2 "systemctl not found: use --stop-cmd/--start-cmd on hosts without systemd"
  load_state=$(systemctl show --property=LoadState --value -- "$SERVICE" 2>/dev/null || true)
  [[ $load_state == loaded ]] || die 2 "no systemd unit \"$SERVICE\" (LoadState: ${load_state:-unknown})"
else
  [[ -n $STOP_CMD ]] || die 2 "give --service UNIT, or --stop-cmd CMD and --start-cmd CMD (see --help)"
  [[ -n $START_CMD ]] || die 2 "--stop-cmd needs --start-cmd, so the service can always be restarted"
fi
STOP_SECONDS=$(to_seconds "$STOP_TIMEOUT")
command -v "$SMR" >/dev/null 2>&1 || die 2 "smr program \"$SMR\" not found (use --smr PATH)"

# --- the service -------------------------------------------------------------------------------

systemd_state() { systemctl show --property=ActiveState --value -- "$SERVICE" 2>/dev/null || true; }

service_is_stopped() {
  if [[ -n $STOPPED_CHECK ]]; then
    bash -c "$STOPPED_CHECK" >/dev/null 2>&1
  elif [[ -n $SERVICE ]]; then
    case "$(systemd_state)" in inactive | failed | "") return 0 ;; *) return 1 ;; esac
  else
    return 1 # unknown: assume it is running, so that it is restarted
  fi
}

stop_service() {
  if [[ -n $SERVICE ]]; then
    systemctl stop --no-block -- "$SERVICE"
  else
    bash -c "$STOP_CMD"
  fi
}

# shellcheck disable=SC2317 # called from the EXIT trap
start_service() {
  if [[ -n $SERVICE ]]; then
    systemctl start -- "$SERVICE"
  else
    bash -c "$START_CMD"
  fi
}

wait_until_stopped() {
  local deadline=$((SECONDS + STOP_SECONDS))
  # A --stop-cmd without --stopped-check is trusted to return once the service has stopped.
  [[ -n $SERVICE || -n $STOPPED_CHECK ]] || return 0
  until service_is_stopped; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# --- always restart ----------------------------------------------------------------------------

MUST_RESTART=0
SMR_PID=""

# shellcheck disable=SC2317 # called by the shell on exit
restart_on_exit() {
  local rc=$?
  trap - EXIT
  if [[ -n $SMR_PID ]]; then kill "$SMR_PID" 2>/dev/null || true; fi
  if ((MUST_RESTART)); then
    log "restarting the service"
    if ! start_service; then
      log "FAILED to restart the service: start it by hand"
      ((rc != 0)) || rc=1
    fi
  fi
  exit "$rc"
}
trap restart_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if service_is_stopped; then
  log "the service is not running: it will be neither stopped nor started"
else
  log "stopping the service"
  MUST_RESTART=1 # from here on, whatever happens, the EXIT trap starts it again
  stop_service || die 1 "the stop command failed"
  wait_until_stopped || die 6 "the service did not stop within $STOP_TIMEOUT: no task queued"
  log "the service has stopped"
fi

# --- the task ------------------------------------------------------------------------------------

smr_args=(queue-task "$CONNECTION" --on "$ON" --timeout "$TASK_TIMEOUT" --wait)
if [[ -n $STATE_DIR ]]; then smr_args+=(--state-dir "$STATE_DIR"); fi
smr_args+=(-- "$TASK")
if ((${#TASK_ARGS[@]})); then smr_args+=("${TASK_ARGS[@]}"); fi

log "queueing task $TASK on connection $CONNECTION"
# In the background, so that a signal interrupts the wait at once and the trap restarts the service.
"$SMR" "${smr_args[@]}" &
SMR_PID=$!
rc=0
wait "$SMR_PID" || rc=$?
SMR_PID=""
case "$rc" in
  0) log "task succeeded" ;;
  5) log "task failed or was rejected (smr exit 5)" ;;
  6) log "task timed out (smr exit 6)" ;;
  3) log "source daemon not running or target unreachable (smr exit 3)" ;;
  *) log "smr queue-task exited with $rc" ;;
esac
exit "$rc"
