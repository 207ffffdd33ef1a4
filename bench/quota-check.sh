#!/usr/bin/env bash
# Checks per second and p50/p99 of QuotaService.Check over gRPC with 0, 1, 5 and 20 rules per
# request, against the real stack: starts `AppHost run` on a fresh data folder (ports shifted by
# 7000, loopback only), runs the client, stops everything.
#   bench/quota-check.sh [calls] [concurrency] [seconds]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OFFSET=7000
dotnet build "$ROOT/ThinkWatch.slnx" -c Release -v quiet -nologo >/dev/null
DATA=$(mktemp -d /tmp/thinkwatch-bench.XXXXXX)
chmod 755 "$DATA"
dotnet "$ROOT/AppHost/bin/Release/net10.0/ThinkWatch.AppHost.dll" run --data "$DATA" --port-offset "$OFFSET" > "$DATA/run.log" 2>&1 &
APPHOST=$!
trap 'kill -TERM $APPHOST 2>/dev/null; wait $APPHOST 2>/dev/null; rm -rf "$DATA"' EXIT
until [ "$(grep -c '"state": "Running"' "$DATA/apphost.json" 2>/dev/null || true)" = 9 ]; do
  kill -0 "$APPHOST" 2>/dev/null || { cat "$DATA/run.log" >&2; exit 1; }
  sleep 0.2
done
echo "Quota on 127.0.0.1:$((13120 + OFFSET)) (gRPC $((13121 + OFFSET))), $(nproc) cores, Release build, every service of the stack running"
dotnet "$ROOT/bench/QuotaCheck/bin/Release/net10.0/ThinkWatch.Bench.QuotaCheck.dll" \
  "http://127.0.0.1:$((13120 + OFFSET))" "http://127.0.0.1:$((13121 + OFFSET))" "$DATA/secrets" "$@"
