#!/usr/bin/env bash
# Checks per second and p50/p99 of QuotaService.Check over gRPC with 0, 1, 5 and 20 rules per
# request, against the real stack: starts the AppHost (Release) on a fresh data folder (ports shifted
# by 7000, loopback only), runs the client, stops everything.
#   bench/quota-check.sh [calls] [concurrency] [seconds]
set -euo pipefail
OFFSET=7000
# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
build_release bench/QuotaCheck/QuotaCheck.csproj
start_stack "$OFFSET"
echo "Quota on 127.0.0.1:$((13120 + OFFSET)) (gRPC $((13121 + OFFSET))), $(nproc) cores, Release build, every service of the stack running"
dotnet "$ROOT/bench/QuotaCheck/bin/Release/net10.0/ThinkWatch.Bench.QuotaCheck.dll" \
  "http://127.0.0.1:$((13120 + OFFSET))" "http://127.0.0.1:$((13121 + OFFSET))" "$DATA/secrets" "$@"
