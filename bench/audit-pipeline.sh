#!/usr/bin/env bash
# The audit pipeline's throughput against the real stack: ClickHouse rows/s per batch size
# (100/1000/10000, plain inserts and through AuditIngest's EventWriter), then events/s from a
# producer's disk spool through RabbitMQ and AuditIngest into ClickHouse. Starts the AppHost (Release)
# on a fresh data folder (ports shifted by 7000, loopback only), runs the client, stops everything.
#   bench/audit-pipeline.sh [rows-per-batch-size=100000] [events=50000]
set -euo pipefail
OFFSET=7000
# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
build_release bench/AuditPipeline/AuditPipeline.csproj
start_stack "$OFFSET"
echo "RabbitMQ on 127.0.0.1:$((15672 + OFFSET)), ClickHouse on 127.0.0.1:$((18123 + OFFSET)) (version $(curl -s "http://127.0.0.1:$((18123 + OFFSET))/?query=SELECT%20version()" || echo unknown)), $(nproc) cores, Release build, every service of the stack running"
dotnet "$ROOT/bench/AuditPipeline/bin/Release/net10.0/ThinkWatch.Bench.AuditPipeline.dll" \
  "amqp://guest:guest@127.0.0.1:$((15672 + OFFSET))/" "Endpoint=http://127.0.0.1:$((18123 + OFFSET));Database=thinkwatch" "$@"
