#!/usr/bin/env bash
# Interoperability run with the reference MCP tools from npm, through the whole stack:
#   @modelcontextprotocol/server-everything (streamable HTTP) registered as an upstream,
#   @modelcontextprotocol/inspector --cli as the client, against the public /mcp of the AI gateway.
# Starts the AppHost (Release) on a fresh data folder (ports +7100, loopback only), installs the two npm
# packages into $NPM_DIR (default /tmp/thinkwatch-npm), prints what each inspector call returned,
# and stops everything it started on exit.
#   bench/mcp-interop.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OFFSET=7100
GATEWAY="http://127.0.0.1:$((3000 + OFFSET))"
IDENTITY="http://127.0.0.1:$((3001 + OFFSET))"
EVERYTHING_PORT=24731
NPM_DIR=${NPM_DIR:-/tmp/thinkwatch-npm}
INSPECTOR_VERSION=2.12.0

command -v jq >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null
mkdir -p "$NPM_DIR"
( cd "$NPM_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } \
  && npm install --no-audit --no-fund --loglevel=error "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" @modelcontextprotocol/server-everything >/dev/null )
echo "inspector $(jq -r .version "$NPM_DIR/node_modules/@modelcontextprotocol/inspector/package.json"), server-everything $(jq -r .version "$NPM_DIR/node_modules/@modelcontextprotocol/server-everything/package.json")"

# The upstream is on loopback: the MCP gateway must be allowed to reach private addresses (off by default).
export McpGateway__AllowPrivateNetworkUpstreams=true
# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
EVERYTHING=
cleanup() {
  [ -n "$EVERYTHING" ] && kill "$EVERYTHING" 2>/dev/null || true
  stop_stack
}
trap cleanup EXIT

PORT=$EVERYTHING_PORT node "$NPM_DIR/node_modules/@modelcontextprotocol/server-everything/dist/index.js" streamableHttp > "$DATA/everything.log" 2>&1 &
EVERYTHING=$!
start_stack "$OFFSET"

json() { curl -sf -H 'content-type: application/json' "$@"; }
json "$IDENTITY/api/setup" -d '{"email":"admin@example.com","displayName":"Admin","password":"Interop-run-1"}' >/dev/null
TOKEN=$(json "$IDENTITY/api/auth/login" -d '{"email":"admin@example.com","password":"Interop-run-1"}' | jq -r .accessToken)
auth=(-H "authorization: Bearer $TOKEN")
KEY=$(json "${auth[@]}" "$IDENTITY/api/keys" -d '{"name":"inspector","surfaces":["mcp_gateway"],"allowedMcpTools":["*"]}' | jq -r .secret)
SERVER=$(json "${auth[@]}" "$IDENTITY/api/mcp/servers" -d "{\"name\":\"everything\",\"url\":\"http://127.0.0.1:$EVERYTHING_PORT/mcp\"}" | jq -r .id)
json "${auth[@]}" "$IDENTITY/api/mcp/grants" -d "{\"role\":\"super_admin\",\"serverId\":\"$SERVER\",\"tools\":\"*\"}" >/dev/null

inspect() {
  echo "== inspector --cli $*" >&2
  (cd "$NPM_DIR" && npx --no-install mcp-inspector --cli "$GATEWAY/mcp" --transport http --header "Authorization: Bearer $KEY" "$@") 2>&1 | grep -v 'npm warn'
}
inspect --method tools/list | jq -c "[.tools[].name]"
inspect --method tools/call --tool-name everything__echo --tool-arg message=through-thinkwatch | jq -c .
inspect --method tools/call --tool-name everything__get-sum --tool-arg a=19 b=23 | jq -c .
inspect --method resources/list | jq -c '[.resources[].uri] | .[0:3]'
inspect --method resources/read --uri everything+demo://resource/static/document/features.md | jq -c '.contents[] | {uri, mimeType, chars: (.text | length)}'
inspect --method resources/templates/list | jq -c '[.resourceTemplates[].uriTemplate]'
inspect --method prompts/list | jq -c '[.prompts[].name]'
inspect --method prompts/get --prompt-name everything__simple-prompt | jq -c .
