#!/usr/bin/env bash
# p50/p99 of KeyService.Validate over gRPC against the real stack: starts `AppHost run` on a
# fresh data folder (ports shifted by 33000, loopback only), runs the client, stops everything.
#   bench/key-validate.sh [calls] [concurrency] [seconds]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OFFSET=33000
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
echo "Identity on 127.0.0.1:$((3001 + OFFSET)) (gRPC $((13111 + OFFSET))), $(nproc) cores, Release build"
dotnet "$ROOT/bench/KeyValidate/bin/Release/net10.0/ThinkWatch.Bench.KeyValidate.dll" \
  "http://127.0.0.1:$((3001 + OFFSET))" "http://127.0.0.1:$((13111 + OFFSET))" "$DATA/secrets/internal-token" "$@"
