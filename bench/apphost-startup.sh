#!/usr/bin/env bash
# Time from starting the AppHost (Release, Aspire with DCP and the dashboard) to all six services answering
# /health/ready, cold and warm, the time SIGTERM takes to stop every process of the run, and the memory of the run
# by group (PSS from /proc/PID/smaps_rollup, taken a few seconds after the last run was ready).
#   cold: a new data folder (infra.sh prepare, initdb, first RabbitMQ boot, every database and schema created)
#   warm: the same folder again (servers restart on existing data, migrations are no-ops)
# Packages must already be installed (infra/infra.sh install); the build is not timed.
#
#   bench/apphost-startup.sh [--warm-runs N=1] [--port-offset N=4000] [--settle S=5]
set -euo pipefail

WARM_RUNS=1
OFFSET=4000
SETTLE=5
while [ $# -gt 0 ]; do
  case "$1" in
    --warm-runs) WARM_RUNS="$2"; shift 2 ;;
    --port-offset) OFFSET="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

# One line per process of the run: group, part, PSS in kB.
classify() {
  local pid args pss
  for pid in $(stack_pids); do
    pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    [ -n "$pss" ] || continue
    args=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || continue
    if [ "$pid" = "$APPHOST" ]; then echo "AppHost ThinkWatch.AppHost $pss"; continue; fi
    case "$args" in
      */tools/dcp\ start-apiserver*) echo "DCP apiserver $pss" ;;
      */tools/dcp\ run-controllers*) echo "DCP run-controllers $pss" ;;
      */tools/dcp\ monitor-process*) echo "DCP monitor-process $pss" ;;
      */Aspire.Dashboard*) echo "dashboard Aspire.Dashboard $pss" ;;
      dotnet\ run\ --project\ *) echo "dotnet-run-wrappers $(basename "$(echo "$args" | awk '{print $4}')" .csproj) $pss" ;;
      */bin/Release/net10.0/ThinkWatch.*|*/bin/Debug/net10.0/ThinkWatch.*)
        echo "services $(echo "$args" | awk '{print $1}' | sed 's/.*ThinkWatch\.//') $pss" ;;
      *postgres*) echo "servers postgres $pss" ;;
      *redis-server*) echo "servers redis $pss" ;;
      *clickhouse*) echo "servers clickhouse $pss" ;;
      *rabbit*|*beam.smp*|*erl_child_setup*|*inet_gethost*|epmd*) echo "servers rabbitmq+epmd $pss" ;;
      *) echo "other $(basename "${args%% *}") $pss" ;;
    esac
  done
}

memory() {
  echo "memory of the run (PSS, MiB):"
  classify | sort -k1,1 -k2,2 | awk '
    { g[$1] += $3; n[$1]++; total += $3; procs++; key = $1 SUBSEP $2
      if (!(key in part)) parts[$1] = parts[$1] " " $2
      part[key] += $3; count[key]++ }
    END {
      split("DCP dashboard AppHost dotnet-run-wrappers services servers other", order, " ")
      for (i = 1; i in order; i++) {
        k = order[i]; if (!(k in g)) continue
        detail = ""; m = split(parts[k], names, " ")
        for (j = 1; j <= m; j++) { key = k SUBSEP names[j]
          detail = detail sprintf("%s%s%s %.0f", detail == "" ? "" : ", ", names[j], count[key] > 1 ? " x" count[key] : "", part[key] / 1024) }
        printf "  %-20s %3d proc %8.1f   %s\n", k, n[k], g[k] / 1024, detail
      }
      printf "  %-20s %3d proc %8.1f\n", "total", procs, total / 1024
    }'
}

echo "AppHost startup: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), data $DATA, port offset $OFFSET"
runs=(cold $(seq -f 'warm%g' 1 "$WARM_RUNS"))
for run in "${runs[@]}"; do
  start_stack "$OFFSET"
  printf '%-6s start -> all six services ready: %s  (%s)\n' "$run" "$(seconds "$STACK_READY_MS")" "$STACK_READY"
  if [ "$run" = "${runs[-1]}" ]; then
    sleep "$SETTLE"
    memory
  fi
  stop_run
  printf '%-6s SIGTERM -> every process of the run gone: %s\n' "$run" "$(seconds "$STACK_STOP_MS")"
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
