# Sourced by the benchmarks. Builds the AppHost in Release (which builds every service); `start_stack OFFSET`
# runs it on the fresh data folder $DATA with every port shifted by OFFSET (the dashboard's too, so a developer's own
# run on the default ports is left alone), loopback only, until each of the six services answers /health/ready;
# `stop_stack` (called on exit) stops it and removes $DATA. A script with more to clean up calls stop_stack from its
# own EXIT trap. A Release AppHost makes Aspire run the services with `dotnet run --configuration Release`.
# BENCH_DIR (default /tmp) is where $DATA is made; STACK_TIMEOUT (600 s) bounds the wait for readiness.
#
# The built AppHost is started directly (no `dotnet run` wrapper, no launch profile: it sets its dashboard's loopback
# ports itself). SIGTERM stops the AppHost within a second; DCP, which watches
# it, then stops every process of the run: stop_stack waits for those too.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_SERVICES=(quota=13120 auditingest=13140 identity=13110 console=3001 mcpgateway=13130 aigateway=3000)
STACK_TIMEOUT=${STACK_TIMEOUT:-600}
APPHOST=
STACK_RUN_PIDS=()

build_release() { # project… (paths below ROOT)
  local project out
  for project in "$@"; do
    out=$(dotnet build "$ROOT/$project" -c Release -v quiet -nologo 2>&1) || { echo "$out" >&2; echo "build of $project failed" >&2; exit 1; }
  done
}

descendants() { # PID… → those PIDs and every descendant
  ps -eo pid=,ppid= | awk -v roots="$*" '
    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
    { parent[$1] = $2 }
    END { do { more = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; more = 1 } } while (more)
          for (p in keep) print p }'
}

# The AppHost, DCP's API server (started detached, it watches the AppHost) and everything below them.
stack_pids() {
  local dcp
  dcp=$(pgrep -f -- "start-apiserver --monitor $APPHOST( |\$)" | tr '\n' ' ' || true)
  descendants "$APPHOST" $dcp
}

start_stack() { # OFFSET [DATA] → returns once every service is ready; STACK_READY_MS, STACK_READY (per service)
  local offset=$1 data=${2:-$DATA} start now name port code
  local -A ready=()
  start=$(date +%s%N)
  # The AppHost puts the dashboard on loopback 18888–18891 plus the offset by itself (DashboardDefaults).
  DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    dotnet "$ROOT/AppHost/bin/Release/net10.0/ThinkWatch.AppHost.dll" --data "$data" --port-offset "$offset" \
    >> "$data.apphost.log" 2>&1 &
  APPHOST=$!
  STACK_READY=
  while [ ${#ready[@]} -lt ${#STACK_SERVICES[@]} ]; do
    now=$(date +%s%N)
    if ! kill -0 "$APPHOST" 2>/dev/null || [ $(( (now - start) / 1000000000 )) -ge "$STACK_TIMEOUT" ]; then
      echo "not every service ready (${!ready[*]} are) after $(( (now - start) / 1000000000 )) s; the AppHost's log:" >&2
      tail -40 "$data.apphost.log" >&2
      exit 1
    fi
    for service in "${STACK_SERVICES[@]}"; do
      name=${service%=*} port=$(( ${service#*=} + offset ))
      [ -n "${ready[$name]:-}" ] && continue
      code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready" || true)
      if [ "$code" = 200 ]; then
        ready[$name]=$(( ($(date +%s%N) - start) / 1000000 ))
        STACK_READY+="${STACK_READY:+, }$name $(seconds "${ready[$name]}")"
      fi
    done
    sleep 0.5
  done
  STACK_READY_MS=$(( ($(date +%s%N) - start) / 1000000 ))
}

stop_run() { # SIGTERM to the AppHost, then wait until every process of the run is gone; STACK_STOP_MS
  [ -n "$APPHOST" ] || return 0
  local start left
  mapfile -t STACK_RUN_PIDS < <(stack_pids)
  start=$(date +%s%N)
  kill -TERM "$APPHOST" 2>/dev/null || true
  wait "$APPHOST" 2>/dev/null || true
  APPHOST=
  while left=$(alive "${STACK_RUN_PIDS[@]}"); [ -n "$left" ]; do
    if [ $(( ($(date +%s%N) - start) / 1000000000 )) -ge 60 ]; then
      echo "still running 60 s after SIGTERM, killed:" >&2
      for pid in $left; do ps -o pid=,args= -p "$pid" >&2; kill -KILL "$pid" 2>/dev/null; done
      break
    fi
    sleep 0.2
  done
  STACK_STOP_MS=$(( ($(date +%s%N) - start) / 1000000 ))
}

alive() { local pid; for pid in "$@"; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done; return 0; }

seconds() { printf '%d.%01d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

stop_stack() {
  stop_run
  rm -rf "$DATA" "$DATA.apphost.log"
}

build_release AppHost/AppHost.csproj
DATA=$(mktemp -d "${BENCH_DIR:-/tmp}/thinkwatch-bench.XXXXXX")
chmod 755 "$DATA" # postgres runs as its own user below it
trap stop_stack EXIT
