#!/usr/bin/env bash
# Runs every ThinkWatch test, from a fresh Debian machine (root) with the .NET 10 SDK:
# installs the missing Debian packages, starts the test infrastructure (its own ports and
# data folder, see tests/test-infra.env), restores, builds warning-free, runs all NUnit
# projects, stops the infrastructure again, and prints "N passed, N failed[, N skipped]"
# from the TRX results as its last line. Exits non-zero when anything failed.
#
#   tests/run.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Quota]
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export THINKWATCH_TEST_DATA=${THINKWATCH_TEST_DATA:-/tmp/thinkwatch-tests/infra}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
RESULTS="$ROOT/tests/results"
# shellcheck source=tests/test-infra.env
source "$ROOT/tests/test-infra.env"
INFRA_ARGS=(--data "$THINKWATCH_TEST_DATA" --postgres-port "$POSTGRES_PORT" --redis-port "$REDIS_PORT"
            --rabbitmq-port "$RABBITMQ_PORT" --clickhouse-port "$CLICKHOUSE_PORT")

log() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }

summary() { # passed failed skipped
  if [ "$3" -gt 0 ]; then echo "$1 passed, $2 failed, $3 skipped"; else echo "$1 passed, $2 failed"; fi
}

# Prints "  <test>: <message>" for every failed result of one TRX file.
failed_tests() {
  awk '
    /<UnitTestResult / { name = ""; failed = 0
      if (match($0, /testName="[^"]*"/)) name = substr($0, RSTART + 10, RLENGTH - 11)
      if ($0 ~ /outcome="Failed"/) failed = 1 }
    failed && /<Message>/ { inmsg = 1; lines = 0; sub(/.*<Message>/, ""); printf "  %s: ", name }
    inmsg { line = $0; done = sub(/<\/Message>.*/, "", line)
      if (lines < 4) print line; lines++
      if (done) { inmsg = 0; failed = 0 } }
  ' "$1"
}

stop_infra() { bash infra/infra.sh down "${INFRA_ARGS[@]}" >/dev/null 2>&1 || true; }

if ! command -v dotnet >/dev/null; then
  echo "The .NET 10 SDK is required (dotnet on PATH)." >&2
  summary 0 1 0; exit 1
fi

log "Installing missing Debian packages"
if ! bash infra/infra.sh install || ! bash infra/infra.sh install-browser; then
  echo "infra/infra.sh install failed" >&2
  summary 0 1 0; exit 1
fi

# Infrastructure starts while the solution restores and builds.
log "Starting test infrastructure in the background"
mkdir -p "$(dirname "$THINKWATCH_TEST_DATA")"
bash infra/infra.sh up --no-install "${INFRA_ARGS[@]}" > "$(dirname "$THINKWATCH_TEST_DATA")/infra-up.log" 2>&1 &
INFRA_PID=$!
trap stop_infra EXIT

log "Restoring"
if ! dotnet restore ThinkWatch.slnx; then
  echo "restore failed; retrying once in 15 s" >&2
  sleep 15
  dotnet restore ThinkWatch.slnx || { summary 0 1 0; exit 1; }
fi

log "Building"
if ! dotnet build ThinkWatch.slnx --no-restore -c Debug; then
  summary 0 1 0; exit 1
fi

log "Waiting for the test infrastructure"
if ! wait "$INFRA_PID"; then
  cat "$(dirname "$THINKWATCH_TEST_DATA")/infra-up.log" >&2
  summary 0 1 0; exit 1
fi
bash infra/infra.sh status "${INFRA_ARGS[@]}"
# A kept data folder would otherwise grow with every run's fresh database names.
bash infra/infra.sh reset "${INFRA_ARGS[@]}"

log "Testing"
rm -rf "$RESULTS"
# A test host that crashes is reported with the test it was running, and a crash (not a kill)
# leaves a mini dump under tests/results.
dotnet test ThinkWatch.slnx --no-build -c Debug --results-directory "$RESULTS" --blame-crash --blame-crash-dump-type mini \
  --logger "trx" --logger "console;verbosity=minimal" "$@"
TEST_EXIT=$?

log "Results"
passed=0; failed=0; skipped=0; reports=0
for trx in "$RESULTS"/*.trx; do
  [ -e "$trx" ] || continue
  reports=$((reports + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(attr passed)))
  failed=$((failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted)))
  skipped=$((skipped + $(attr notExecuted) + $(attr inconclusive)))
done
projects=$(find tests -mindepth 2 -maxdepth 2 -name '*.Tests.csproj' | wc -l)
if [ "$reports" -lt "$projects" ]; then
  echo "only $reports of $projects test projects reported results (a test host crashed?)" >&2
  failed=$((failed + projects - reports))
fi
if [ "$TEST_EXIT" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited $TEST_EXIT without a failed test in the reports" >&2
  failed=1
fi
if [ "$failed" -gt 0 ]; then
  echo "Failed tests (first lines of each message; full output in $RESULTS/*.trx):"
  for trx in "$RESULTS"/*.trx; do [ -e "$trx" ] && failed_tests "$trx"; done
fi
summary "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
