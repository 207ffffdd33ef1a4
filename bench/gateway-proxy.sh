#!/usr/bin/env bash
# The AI gateway against a plain reverse proxy, same static upstream, same run:
#   nginx (static upstream)  <-  nginx (proxy_buffering off)   <- wrk
#   nginx (static upstream)  <-  ThinkWatch AI gateway          <- wrk
# JSON and SSE chat completions; wrk at fixed concurrency for a fixed time; prints throughput,
# p50/p99 and the ratios. Starts the AppHost (Release) on a fresh data folder (ports +7000,
# loopback only) and stops everything it started on exit.
#   bench/gateway-proxy.sh [connections=16] [seconds=15]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONNECTIONS=${1:-16}
SECONDS_PER_RUN=${2:-15}
OFFSET=7000
UPSTREAM_PORT=18081
PROXY_PORT=18082
GATEWAY="http://127.0.0.1:$((3000 + OFFSET))"
IDENTITY="http://127.0.0.1:$((3001 + OFFSET))"

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cleanup() {
  [ -f "$DATA/nginx/nginx.pid" ] && kill -QUIT "$(cat "$DATA/nginx/nginx.pid")" 2>/dev/null || true
  stop_stack
}
trap cleanup EXIT

# ---- the static upstream and the nginx baseline, one nginx process ------------------------------
mkdir -p "$DATA/nginx/logs"
JSON_ANSWER='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":10,"total_tokens":22}}'
chunk() { printf 'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}\\n\\n' "$1" "$2"; }
SSE_ANSWER="$(chunk '{"role":"assistant","content":""}' null)"
for word in The quick brown fox jumps over the lazy dog.; do SSE_ANSWER+="$(chunk "{\"content\":\"$word \"}" null)"; done
SSE_ANSWER+="$(chunk '{}' '"stop"')"
SSE_ANSWER+='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":10,"total_tokens":22}}\n\ndata: [DONE]\n\n'
cat > "$DATA/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $DATA/nginx/nginx.pid;
error_log $DATA/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $DATA/nginx/body;
  proxy_temp_path $DATA/nginx/proxy;
  fastcgi_temp_path $DATA/nginx/fastcgi;
  uwsgi_temp_path $DATA/nginx/uwsgi;
  scgi_temp_path $DATA/nginx/scgi;
  upstream static_upstream { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$UPSTREAM_PORT;
    location = /json/v1/chat/completions { default_type application/json; return 200 '$JSON_ANSWER'; }
    location = /sse/v1/chat/completions { default_type text/event-stream; return 200 '$SSE_ANSWER'; }
  }
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / {
      proxy_pass http://static_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
CONF
"$NGINX" -c "$DATA/nginx/nginx.conf" -p "$DATA/nginx"

# ---- ThinkWatch: the whole stack, one admin, two providers on the static upstream, a key -------
start_stack "$OFFSET"
post() { curl -fsS -X POST "$1" -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2"; }
KEY=$(post "$IDENTITY/api/setup" '{"email":"bench@example.com","displayName":"Bench","password":"Bench-password-1",
  "apiKey":{"name":"bench","surfaces":["ai_gateway"],"allowedModels":["bench-*"]},
  "provider":{"name":"static-json","kind":"openai","baseUrl":"http://127.0.0.1:'$UPSTREAM_PORT'/json/v1","credentials":{"apiKey":"sk-bench"}}}' | jq -r .apiKey.key)
TOKEN=$(post "$IDENTITY/api/auth/login" '{"email":"bench@example.com","password":"Bench-password-1"}' | jq -r .accessToken)
post "$IDENTITY/api/providers" '{"name":"static-sse","kind":"openai","baseUrl":"http://127.0.0.1:'$UPSTREAM_PORT'/sse/v1","credentials":{"apiKey":"sk-bench"}}' "$TOKEN" >/dev/null
post "$GATEWAY/api/models" '{"name":"bench-json","provider":"static-json","upstreamModel":"gpt-4o-mini"}' "$TOKEN" >/dev/null
post "$GATEWAY/api/models" '{"name":"bench-sse","provider":"static-sse","upstreamModel":"gpt-4o-mini"}' "$TOKEN" >/dev/null

# ---- wrk ----------------------------------------------------------------------------------------
lua() { # model stream key
  cat > "$DATA/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $3"
wrk.body = '{"model":"$1","stream":$2,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something about foxes and dogs."}]}'
LUA
}
lua bench-json false "$KEY"
lua bench-sse true "$KEY"
# Check both paths answer before measuring.
for m in json sse; do
  curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PROXY_PORT/$m/v1/chat/completions" -d '{}'
  curl -fsS -o /dev/null -X POST "$GATEWAY/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"model\":\"bench-$m\",\"stream\":$([ $m = sse ] && echo true || echo false),\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
done

run() { # name url script seconds → "rps p50ms p99ms"
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$4s" --latency -s "$3" "$2")
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "$1: errors in the run" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "$rps $(ms "$p50") $(ms "$p99")"
}
ms() { # wrk latency (us/ms/s) → ms
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}

echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "wrk -t2 -c$CONNECTIONS -d${SECONDS_PER_RUN}s; gateway = Release build under the Aspire AppHost (usage records to RabbitMQ); nginx $($NGINX -v 2>&1 | cut -d/ -f2)"
printf '%-6s %-8s %12s %10s %10s\n' format target "req/s" "p50 ms" "p99 ms"
for m in json sse; do
  run warmup "$GATEWAY/v1/chat/completions" "$DATA/bench-$m.lua" 10 >/dev/null # JIT tiering and PGO settle
  run warmup "http://127.0.0.1:$PROXY_PORT/$m/v1/chat/completions" "$DATA/bench-$m.lua" 5 >/dev/null
  read -r n_rps n_p50 n_p99 < <(run nginx "http://127.0.0.1:$PROXY_PORT/$m/v1/chat/completions" "$DATA/bench-$m.lua" "$SECONDS_PER_RUN")
  read -r g_rps g_p50 g_p99 < <(run gateway "$GATEWAY/v1/chat/completions" "$DATA/bench-$m.lua" "$SECONDS_PER_RUN")
  printf '%-6s %-8s %12s %10s %10s\n' "$m" nginx "$n_rps" "$n_p50" "$n_p99"
  printf '%-6s %-8s %12s %10s %10s\n' "$m" gateway "$g_rps" "$g_p50" "$g_p99"
  awk -v m="$m" -v nr="$n_rps" -v gr="$g_rps" -v n5="$n_p50" -v g5="$g_p50" -v n9="$n_p99" -v g9="$g_p99" \
    'BEGIN { printf "%-6s gateway/nginx throughput %.2f, added p50 %+.3f ms, added p99 %+.3f ms\n", m, gr/nr, g5-n5, g9-n9 }'
done
