# Sourced by the benchmarks: builds Release, and `start_stack OFFSET` runs `AppHost run` on the
# fresh data folder $DATA (ports shifted by OFFSET, loopback only) until all nine resources are
# ready. stop_stack (called on exit) stops it and removes $DATA; a script with more to clean up
# calls stop_stack from its own EXIT trap.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dotnet build "$ROOT/ThinkWatch.slnx" -c Release -v quiet -nologo >/dev/null
DATA=$(mktemp -d /tmp/thinkwatch-bench.XXXXXX)
chmod 755 "$DATA"
APPHOST=

stop_stack() {
  [ -n "$APPHOST" ] && { kill -TERM "$APPHOST" 2>/dev/null; wait "$APPHOST" 2>/dev/null || true; }
  rm -rf "$DATA"
}
trap stop_stack EXIT

start_stack() {
  dotnet "$ROOT/AppHost/bin/Release/net10.0/ThinkWatch.AppHost.dll" run --data "$DATA" --port-offset "$1" > "$DATA/run.log" 2>&1 &
  APPHOST=$!
  until [ "$(grep -c '"state": "Running"' "$DATA/apphost.json" 2>/dev/null || true)" = 9 ]; do
    kill -0 "$APPHOST" 2>/dev/null || { cat "$DATA/run.log" >&2; exit 1; }
    sleep 0.2
  done
}
