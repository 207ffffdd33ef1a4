#!/usr/bin/env bash
# Time from `AppHost run` to every resource ready (state Running in apphost.json, which the
# AppHost sets only after each service's /health/ready answered 200), cold and warm.
#   cold: a new data folder (initdb, first RabbitMQ boot, every database and schema created)
#   warm: the same folder again (servers restart on existing data, migrations are no-ops)
# Packages must already be installed (infra/infra.sh install); the build is not timed.
#
#   bench/apphost-startup.sh [--warm-runs N] [--port-offset N]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WARM_RUNS=3
OFFSET=32000
while [ $# -gt 0 ]; do
  case "$1" in
    --warm-runs) WARM_RUNS="$2"; shift 2 ;;
    --port-offset) OFFSET="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

dotnet build "$ROOT/ThinkWatch.slnx" -c Release -v quiet -nologo >/dev/null
APPHOST="$ROOT/AppHost/bin/Release/net10.0/ThinkWatch.AppHost.dll"
DATA=$(mktemp -d /tmp/thinkwatch-bench.XXXXXX)
chmod 755 "$DATA"
RESOURCES=9

run_once() { # label
  local start pid elapsed
  start=$(date +%s%N)
  dotnet "$APPHOST" run --data "$DATA" --port-offset "$OFFSET" > "$DATA/run.log" 2>&1 &
  pid=$!
  until [ "$(grep -c '"state": "Running"' "$DATA/apphost.json" 2>/dev/null || true)" = "$RESOURCES" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "AppHost exited before ready:" >&2; cat "$DATA/run.log" >&2; exit 1
    fi
    sleep 0.1
  done
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '%-6s run -> all ready: %d.%03d s\n' "$1" $((elapsed / 1000)) $((elapsed % 1000))
  kill -TERM "$pid"
  wait "$pid"
}

echo "AppHost startup, $(nproc) cores, data $DATA"
run_once cold
for i in $(seq 1 "$WARM_RUNS"); do run_once "warm$i"; done
rm -rf "$DATA"
