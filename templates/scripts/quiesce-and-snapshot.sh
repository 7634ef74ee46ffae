#!/usr/bin/env bash
# smr-template: Stop a service, queue a snapshot task in line with replication, always restart the service.
#
# Runs on the SOURCE. The replica on the target reaches the task at exactly the point where the
# service had stopped and written everything to disk, so the snapshot taken there is application
# consistent, not merely crash consistent. See `--help`.
#
# The outage is bounded: the connection and its link are checked before anything is stopped, and
# the service is started again after --max-down (default 2m) whatever the task is doing.
#
# Exit code: smr's (0 task succeeded, 5 task failed or was rejected, 6 task timed out or still
# pending, 3 daemon or target down, 2 usage or unknown connection), 6 also when the service did not
# stop within --stop-timeout, 1 when the service could not be stopped or restarted.
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG --connection NAME (--service UNIT | --stop-cmd CMD --start-cmd CMD) [options]

Checks that CONNECTION exists and its link is up, stops a service, waits until it has stopped,
inserts a task into the smr replication queue of CONNECTION (smr queue-task), and starts the
service again: once the task has ended (or is queued, with --restart-after queued), and never later
than --max-down after the stop began, even when something failed. A service that was not running
beforehand is neither stopped nor started.

Service (one of):
  --service UNIT         a systemd unit, stopped and started with systemctl
  --stop-cmd CMD         a shell command that stops the service (run with bash -c)
  --start-cmd CMD        a shell command that starts it again (required with --stop-cmd)
  --stopped-check CMD    a shell command that succeeds once the service has stopped; polled after
                         stopping, and run first to learn whether the service is running at all
                         (without it, a --stop-cmd service is assumed to be running)
  --stop-timeout DUR     how long to wait for the service to stop (default: 60s)

Outage:
  --max-down DUR         the longest the service stays down (default: 2m); past it the service is
                         started again and the task is reported as still pending (exit 6): it
                         stays in the queue and runs at its point (follow it: smr tasks wait ID)
  --restart-after WHEN   done (default): start the service when the task has ended;
                         queued: as soon as the task is in the queue (the replica still reaches
                         it at the point where the service had stopped), then wait for its result
  --wait-timeout DUR     with --restart-after queued: how long to wait for the result after the
                         restart (default: 30m; 0 = do not wait, exit 0 once queued)

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
MAX_DOWN=2m
RESTART_AFTER="done"
WAIT_TIMEOUT=30m
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
    --max-down) need_value "$@"; MAX_DOWN=$2; shift 2 ;;
    --restart-after) need_value "$@"; RESTART_AFTER=$2; shift 2 ;;
    --wait-timeout) need_value "$@"; WAIT_TIMEOUT=$2; shift 2 ;;
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
case "$RESTART_AFTER" in
  done | queued) ;;
  *) die 2 "--restart-after must be done or queued, not \"$RESTART_AFTER\"" ;;
esac
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
MAX_DOWN_SECONDS=$(to_seconds "$MAX_DOWN")
WAIT_SECONDS=$(to_seconds "$WAIT_TIMEOUT")
to_seconds "$TASK_TIMEOUT" >/dev/null
((MAX_DOWN_SECONDS > 0)) || die 2 "--max-down must be more than 0"
command -v "$SMR" >/dev/null 2>&1 || die 2 "smr program \"$SMR\" not found (use --smr PATH)"

common=()
if [[ -n $STATE_DIR ]]; then common+=(--state-dir "$STATE_DIR"); fi

# A string field of smr's JSON (smr prints compact JSON, one object: no jq needed).
json_field() {
  grep -oE '"'"$1"'":"([^"\\]|\\.)*"' <<<"$2" | head -n 1 |
    sed -e 's/^"[^"]*":"//' -e 's/"$//' -e 's/\\"/"/g' -e 's/\\\\/\\/g' || true
}

# --- before anything is stopped ------------------------------------------------------------------

# The task reaches the target only over a live link: check the connection first, so that a typo, a
# stopped daemon or a stopped transmission never costs an outage.
rc=0
status_json=$("$SMR" status "$CONNECTION" --json ${common[@]+"${common[@]}"} 2>/dev/null) || rc=$?
if ((rc != 0)); then
  msg=$(json_field message "$status_json")
  die "$rc" "cannot use connection $CONNECTION: ${msg:-smr status exited with $rc}; nothing was stopped"
fi
link=$(json_field link "$status_json")
transmit=$(json_field transmit "$status_json")
if [[ $transmit != started ]]; then
  die 3 "connection $CONNECTION: transmission is ${transmit:-unknown} (smr transmit start $CONNECTION), so the task would not reach the target; nothing was stopped"
fi
if [[ $link != connected ]]; then
  die 3 "connection $CONNECTION: the link is ${link:-unknown}, so the task would not reach the target; nothing was stopped"
fi

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
DOWN_SINCE=$SECONDS
SMR_PID=""

# Starts the service again if this script stopped it (once).
restart_service() {
  ((MUST_RESTART)) || return 0
  MUST_RESTART=0
  log "starting the service again (it was down $((SECONDS - DOWN_SINCE))s)"
  if ! start_service; then
    log "FAILED to restart the service: start it by hand"
    return 1
  fi
}

# shellcheck disable=SC2317 # called by the shell on exit
restart_on_exit() {
  local rc=$?
  trap - EXIT
  if [[ -n $SMR_PID ]]; then kill "$SMR_PID" 2>/dev/null || true; fi
  if ! restart_service; then ((rc != 0)) || rc=1; fi
  exit "$rc"
}
trap restart_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Runs smr in the background (so that a signal interrupts it at once and the trap restarts the
# service), its stdout into SMR_OUT; returns smr's exit code.
SMR_OUT=""
run_smr() {
  local out rc=0
  out=$(mktemp)
  "$SMR" "$@" >"$out" &
  SMR_PID=$!
  wait "$SMR_PID" || rc=$?
  SMR_PID=""
  SMR_OUT=$(cat "$out")
  rm -f "$out"
  return "$rc"
}

if service_is_stopped; then
  log "the service is not running: it will be neither stopped nor started"
else
  log "stopping the service (down for $MAX_DOWN at most)"
  MUST_RESTART=1 # from here on, whatever happens, the EXIT trap starts it again
  DOWN_SINCE=$SECONDS
  stop_service || die 1 "the stop command failed"
  wait_until_stopped || die 6 "the service did not stop within $STOP_TIMEOUT: no task queued"
  log "the service has stopped"
fi

# --- the task ------------------------------------------------------------------------------------

queue_args=(queue-task "$CONNECTION" --on "$ON" --timeout "$TASK_TIMEOUT" ${common[@]+"${common[@]}"} -- "$TASK")
if ((${#TASK_ARGS[@]})); then queue_args+=("${TASK_ARGS[@]}"); fi

log "queueing task $TASK on connection $CONNECTION"
rc=0
run_smr "${queue_args[@]}" || rc=$?
((rc == 0)) || die "$rc" "smr queue-task exited with $rc: no task queued"
TASK_ID=$SMR_OUT
[[ $TASK_ID =~ ^[A-Za-z0-9._-]+$ ]] || die 1 "smr queue-task printed \"$TASK_ID\" instead of a task id"
log "task $TASK_ID queued"

# Waits at most $1 seconds for the task's end and says how it ended; returns smr's exit code:
# 0 succeeded, 5 failed or rejected, 6 timed out on the target or still pending (PENDING=1).
PENDING=0
wait_task() {
  local rc=0 state
  run_smr tasks wait "$TASK_ID" --timeout "${1}s" --json ${common[@]+"${common[@]}"} || rc=$?
  state=$(json_field state "$SMR_OUT")
  case "$rc" in
    0) log "task $TASK_ID succeeded" ;;
    5) log "task $TASK_ID failed or was rejected (${state:-failed}, smr exit 5)" ;;
    6) if [[ -n $state ]]; then log "task $TASK_ID timed out on the target (smr exit 6)"; else PENDING=1; fi ;;
    3) log "source daemon not running or target unreachable (smr exit 3)" ;;
    *) log "smr tasks wait exited with $rc" ;;
  esac
  return "$rc"
}

rc=0
if [[ $RESTART_AFTER == queued ]]; then
  restart_service || exit 1
  ((WAIT_SECONDS > 0)) || exit 0
  wait_task "$WAIT_SECONDS" || rc=$?
  if ((PENDING)); then
    log "task $TASK_ID still pending after --wait-timeout $WAIT_TIMEOUT (follow it with: smr tasks wait $TASK_ID)"
  fi
  exit "$rc"
fi

left=$((DOWN_SINCE + MAX_DOWN_SECONDS - SECONDS))
wait_task $((left > 0 ? left : 1)) || rc=$?
if ((PENDING)); then
  log "task $TASK_ID still pending after --max-down $MAX_DOWN: the service is started again; the task stays queued and runs at the point where the service had stopped (follow it with: smr tasks wait $TASK_ID)"
fi
restart_service || exit 1
exit "$rc"
