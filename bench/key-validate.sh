#!/usr/bin/env bash
# p50/p99 of KeyService.Validate over gRPC against the real stack: starts the AppHost (Release) on a
# fresh data folder (ports shifted by 7000, loopback only), runs the client, stops everything.
#   bench/key-validate.sh [calls] [concurrency] [seconds]
set -euo pipefail
OFFSET=7000
# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
build_release bench/KeyValidate/KeyValidate.csproj
start_stack "$OFFSET"
echo "Identity on 127.0.0.1:$((3001 + OFFSET)) (gRPC $((13111 + OFFSET))), $(nproc) cores, Release build"
dotnet "$ROOT/bench/KeyValidate/bin/Release/net10.0/ThinkWatch.Bench.KeyValidate.dll" \
  "http://127.0.0.1:$((3001 + OFFSET))" "http://127.0.0.1:$((13111 + OFFSET))" "$DATA/secrets/internal-token" "$@"
