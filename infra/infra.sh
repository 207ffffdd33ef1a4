#!/usr/bin/env bash
# ThinkWatch local infrastructure without Docker: PostgreSQL 15 (+pgvector), Redis,
# RabbitMQ and ClickHouse from Debian packages, each a plain process bound to 127.0.0.1
# under one data folder. Every command is idempotent and safe to call concurrently
# (a lock in the data folder serialises callers).
#
#   infra/infra.sh install                      install what is missing (root, apt)
#   infra/infra.sh install-browser              chromium and a CJK font for the console's browser tests
#   infra/infra.sh up     [options]             install if needed, start, wait until each answers
#   infra/infra.sh prepare [options]            install if needed, create data folders, passwords, initdb
#                                               and config files, start nothing (the AppHost then runs
#                                               each server itself as an Aspire executable resource)
#   infra/infra.sh down   [options]             stop what this data folder started (by PID)
#   infra/infra.sh status [options]             print state of each server
#   infra/infra.sh reset  [options]             drop every database, virtual host and key the
#                                               servers hold (test infrastructure only)
#   infra/infra.sh vhost-add|vhost-delete NAME [options]
#                                               a RabbitMQ virtual host (guest may use it)
#
# Options (defaults suit a developer machine; tests and the AppHost pass their own):
#   --data DIR            data folder (default /var/lib/thinkwatch/infra)
#   --postgres-port N     default 15432
#   --redis-port N        default 16379
#   --rabbitmq-port N     AMQP port, default 15672; uses N+1 (distribution) and N+2 (epmd)
#   --clickhouse-port N   HTTP port, default 18123; uses N+1 (native) and N+2 (interserver)
#   --only LIST           comma-separated subset: postgres,redis,rabbitmq,clickhouse
#   --no-install          never call apt-get (fail if something is missing)
set -euo pipefail

cmd="${1:-up}"; shift || true
VHOST=""
if [[ "$cmd" == vhost-* ]]; then VHOST="${1:?vhost name}"; shift; fi
DATA=/var/lib/thinkwatch/infra
PG_PORT=15432 REDIS_PORT=16379 AMQP_PORT=15672 CH_PORT=18123
ONLY=postgres,redis,rabbitmq,clickhouse
INSTALL=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --postgres-port) PG_PORT="$2"; shift 2 ;;
    --redis-port) REDIS_PORT="$2"; shift 2 ;;
    --rabbitmq-port) AMQP_PORT="$2"; shift 2 ;;
    --clickhouse-port) CH_PORT="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    *) echo "infra: unknown option $1" >&2; exit 2 ;;
  esac
done
RABBIT_DIST_PORT=$((AMQP_PORT + 1)) EPMD_PORT=$((AMQP_PORT + 2))
CH_TCP_PORT=$((CH_PORT + 1)) CH_INTER_PORT=$((CH_PORT + 2))
PG_BIN=/usr/lib/postgresql/15/bin

log() { echo "infra: $*" >&2; }
die() { echo "infra: error: $*" >&2; exit 1; }
wanted() { [[ ",$ONLY," == *",$1,"* ]]; }
# PIDs are reused (pid_max may be 32768, and threads draw from the same numbers), so a PID file
# is trusted only while its process still has the start time recorded beside it (<file>.start,
# from /proc/<pid>/stat): a stale file never gets another process signalled.
started_at() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "${20}"; }
record_pid() { echo "$2" > "$1"; started_at "$2" > "$1.start" || true; }
same_process() { # pidfile pid
  kill -0 "$2" 2>/dev/null || return 1
  [ ! -s "$1.start" ] || [ "$(started_at "$2")" = "$(cat "$1.start")" ]
}
alive() { [ -f "$1" ] && same_process "$1" "$(cat "$1")"; }

# ---------------------------------------------------------------- install
missing_packages() {
  local pkgs=()
  [ -x "$PG_BIN/initdb" ] || pkgs+=(postgresql-15)
  command -v redis-server >/dev/null || pkgs+=(redis-server)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || pkgs+=(rabbitmq-server)
  command -v clickhouse-server >/dev/null || pkgs+=(clickhouse-server)
  command -v clickhouse-client >/dev/null || pkgs+=(clickhouse-client)
  command -v curl >/dev/null || pkgs+=(curl)
  printf '%s\n' "${pkgs[@]}"
}

pgvector_installed() { [ -f /usr/share/postgresql/15/extension/vector.control ]; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "installing $* needs root (apt-get)"
  # Installs must not start the default system instances on their default ports.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
  [ "$made_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
}

# The machine's own Debian mirror (the first non-security URI of its apt sources, deb822 or one-line).
debian_mirror() {
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}'
    cat /etc/apt/sources.list 2>/dev/null | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}'
  } | grep -v -- '-security' | head -1 || true
}

build_pgvector() {
  # No bookworm package: build Debian's trixie source package against PostgreSQL 15.
  log "building pgvector from Debian's source package"
  apt_install postgresql-server-dev-15 gcc make dpkg-dev
  local work; work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/src"
  local mirror; mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list(.d): cannot fetch pgvector's source"
  echo "deb-src $mirror trixie main" > "$work/sources.list"
  local aptopts=(-o APT::Sandbox::User=root -o Dir::Etc::sourcelist="$work/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$work/lists")
  apt-get "${aptopts[@]}" update -qq
  (cd "$work/src" && apt-get "${aptopts[@]}" source -qq --download-only pgvector >/dev/null \
     && dpkg-source -x --no-check ./*.dsc pgvector >/dev/null)
  make -s -C "$work/src/pgvector" PG_CONFIG="$PG_BIN/pg_config" with_llvm=no OPTFLAGS= >/dev/null
  make -s -C "$work/src/pgvector" PG_CONFIG="$PG_BIN/pg_config" with_llvm=no OPTFLAGS= install >/dev/null
  rm -rf "$work"
}

do_install() {
  mapfile -t pkgs < <(missing_packages)
  if [ "${#pkgs[@]}" -gt 0 ] && [ -n "${pkgs[0]}" ]; then
    [ "$INSTALL" = 1 ] || die "missing packages: ${pkgs[*]} (run infra/infra.sh install as root)"
    log "installing ${pkgs[*]}"
    apt_install "${pkgs[@]}"
  fi
  if ! pgvector_installed; then
    [ "$INSTALL" = 1 ] || die "pgvector is missing (run infra/infra.sh install as root)"
    build_pgvector
  fi
}

# The console's browser tests: Debian's chromium (Playwright drives it; it never downloads a browser) and a
# CJK font so 简体中文 pages render in screenshots. Not part of `install`: the AppHost's prepare step needs neither.
do_install_browser() {
  local pkgs=()
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
  fc-list 2>/dev/null | grep -qi 'wqy\|noto.*cjk' || pkgs+=(fonts-wqy-microhei)
  if [ "${#pkgs[@]}" -gt 0 ]; then
    log "installing ${pkgs[*]}"
    apt_install "${pkgs[@]}"
  fi
}

# ---------------------------------------------------------------- readiness probes
wait_for() { # name timeout-seconds command...
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$name did not become ready within ${timeout}s (see $DATA/$name/*.log)"
    sleep 0.2
  done
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
clickhouse_ready() { [ "$(curl -fsS "http://127.0.0.1:$CH_PORT/ping" 2>/dev/null)" = "Ok." ]; }
amqp_ready() {
  # A broker that is really up answers the protocol header with a Connection.Start
  # method frame (frame type 1).
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$AMQP_PORT && printf 'AMQP\\x00\\x00\\x09\\x01' >&3 && head -c1 <&3 | od -An -tx1" 2>/dev/null | grep -q 01
}

# A port someone else listens on would make a server fail with a confusing message.
require_free() { # name port...
  local name="$1" port; shift
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "$name: port $port on 127.0.0.1 is in use by a process not started from $DATA; stop it or choose other ports"
    fi
  done
}

# ---------------------------------------------------------------- postgres
pg_prepare() {
  local dir="$DATA/postgres"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  runuser -u postgres -- test -w "$dir" \
    || die "$dir must be reachable by the postgres user (choose a --data folder outside /root)"
  if [ ! -f "$DATA/postgres.password" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$DATA/postgres.password")
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    local pw; pw=$(mktemp); cp "$DATA/postgres.password" "$pw"; chown postgres "$pw"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 \
      --pwfile="$pw" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { rm -f "$pw"; die "initdb failed (see $dir/initdb.log)"; }
    rm -f "$pw"
  fi
}
pg_up() {
  local dir="$DATA/postgres"
  pg_prepare
  if pg_ready && [ -f "$dir/data/postmaster.pid" ]; then return; fi
  require_free postgres "$PG_PORT"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir -c max_connections=300 ${PG_EXTRA_OPTS:-}" >/dev/null 9>&- \
    || die "postgres failed to start: $(tail -n 3 "$dir/postgres.log" 2>/dev/null)"
  head -1 "$dir/data/postmaster.pid" > "$dir/pid"
  wait_for postgres 30 pg_ready
}
pg_down() {
  local dir="$DATA/postgres"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- redis
redis_up() {
  local dir="$DATA/redis"; mkdir -p "$dir"
  if alive "$dir/pid" && redis_ready; then return; fi
  require_free redis "$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/pid" --logfile "$dir/redis.log" >/dev/null 9>&-
  wait_for redis 15 redis_ready
  record_pid "$dir/pid" "$(cat "$dir/pid")" # redis wrote the PID itself; add its start time
}
redis_down() { stop_pid "$DATA/redis/pid" redis; }

# ---------------------------------------------------------------- rabbitmq
rabbit_env() {
  local dir="$DATA/rabbitmq"
  export HOME="$dir" RABBITMQ_NODENAME="thinkwatch-$AMQP_PORT@localhost" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
}
rabbit_prepare() {
  local dir="$DATA/rabbitmq"; mkdir -p "$dir/mnesia" "$dir/log"
  echo "[]." > "$dir/enabled_plugins"
  printf 'loopback_users.guest = true\nlog.console = false\n' > "$dir/rabbitmq.conf"
}
rabbit_up() {
  local dir="$DATA/rabbitmq"
  if alive "$dir/pid" && amqp_ready; then return; fi
  require_free rabbitmq "$AMQP_PORT" "$RABBIT_DIST_PORT"
  alive "$dir/epmd.pid" || require_free epmd "$EPMD_PORT"
  rabbit_prepare
  (
    rabbit_env
    # Our own epmd in the foreground, so it has a PID to stop (erl would daemonise one).
    if ! alive "$dir/epmd.pid"; then
      setsid epmd -port "$EPMD_PORT" -address 127.0.0.1 >"$dir/epmd.log" 2>&1 < /dev/null 9>&- &
      record_pid "$dir/epmd.pid" $!
    fi
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/rabbitmq.log" 2>&1 < /dev/null 9>&- &
    record_pid "$dir/pid" $!
  )
  wait_for rabbitmq 90 amqp_ready
}
rabbit_down() {
  local dir="$DATA/rabbitmq"
  stop_pid "$dir/pid" rabbitmq 30
  # The private epmd outlives the broker.
  stop_pid "$dir/epmd.pid" epmd 5
  epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
}

rabbit_ctl() { (rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -q "$@"); }
vhost_add() {
  rabbit_ctl add_vhost "$VHOST" >/dev/null
  rabbit_ctl set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
}
vhost_delete() { rabbit_ctl delete_vhost "$VHOST" >/dev/null 2>&1 || true; }

# Tests take fresh database and virtual host names every run; without this the data folder
# keeps every earlier run's (gigabytes of Postgres after a few hundred runs). Commands in the
# loops read /dev/null: rabbitmqctl would otherwise swallow the rest of the list.
reset() {
  if wanted postgres && pg_ready; then
    local psql=(env PGPASSWORD="$(cat "$DATA/postgres.password")" psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAt)
    "${psql[@]}" -c "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres','template0','template1')" |
      while read -r db; do "${psql[@]}" -c "DROP DATABASE \"$db\" WITH (FORCE)" </dev/null || true; done
  fi
  if wanted clickhouse && clickhouse_ready; then
    curl -fsS "http://127.0.0.1:$CH_PORT/" --data-binary \
      "SELECT name FROM system.databases WHERE name NOT IN ('default','system','INFORMATION_SCHEMA','information_schema')" |
      while read -r db; do curl -fsS "http://127.0.0.1:$CH_PORT/" --data-binary "DROP DATABASE \`$db\`" </dev/null || true; done
  fi
  if wanted rabbitmq && amqp_ready; then
    rabbit_ctl list_vhosts name | grep -vx '/' | grep -vx 'name' |
      while read -r vh; do rabbit_ctl delete_vhost "$vh" </dev/null >/dev/null 2>&1 || true; done
  fi
  if wanted redis && redis_ready; then redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null; fi
}

# ---------------------------------------------------------------- clickhouse
clickhouse_prepare() {
  local dir="$DATA/clickhouse"; mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/log"
  cat > "$dir/config.xml" <<EOF
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <http_port>$CH_PORT</http_port>
  <tcp_port>$CH_TCP_PORT</tcp_port>
  <interserver_http_port>$CH_INTER_PORT</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <timezone>UTC</timezone>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
EOF
  cat > "$dir/users.xml" <<'EOF'
<yandex>
  <profiles><default><allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}
clickhouse_up() {
  local dir="$DATA/clickhouse"
  if alive "$dir/pid" && clickhouse_ready; then return; fi
  require_free clickhouse "$CH_PORT" "$CH_TCP_PORT" "$CH_INTER_PORT"
  clickhouse_prepare
  # In foreground mode ClickHouse does not write --pid-file: record the PID ourselves.
  setsid clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 < /dev/null 9>&- &
  record_pid "$dir/pid" $!
  wait_for clickhouse 30 clickhouse_ready
}
clickhouse_down() { stop_pid "$DATA/clickhouse/pid" clickhouse 20; }

# ---------------------------------------------------------------- helpers
stop_pid() { # pidfile name [timeout]
  local f="$1" name="$2" t="${3:-10}"
  alive "$f" || { rm -f "$f" "$f.start"; return 0; }
  local pid; pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + t))
  while same_process "$f" "$pid"; do
    if [ $SECONDS -ge $deadline ]; then
      log "$name did not stop in ${t}s, killing"
      ! same_process "$f" "$pid" || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2; break
    fi
    sleep 0.1
  done
  rm -f "$f" "$f.start"
}

with_lock() {
  mkdir -p "$DATA"
  exec 9>"$DATA/.lock"
  flock -w 300 9 || die "another infra.sh holds $DATA/.lock"
  "$@"
}

status_line() { # name ready-fn port pidfile...
  local name="$1" fn="$2" port="$3" pids=""; shift 3
  for f in "$@"; do [ -f "$f" ] && pids="$pids${pids:+,}$(head -1 "$f")"; done
  if "$fn" >/dev/null 2>&1; then echo "$name ready 127.0.0.1:$port pids=$pids"; else echo "$name down 127.0.0.1:$port"; fi
}

up() {
  do_install
  # RabbitMQ is by far the slowest to boot: start it first, the others meanwhile.
  if wanted rabbitmq; then rabbit_up & local rabbit_job=$!; fi
  wanted postgres && pg_up
  wanted redis && redis_up
  wanted clickhouse && clickhouse_up
  if wanted rabbitmq; then wait "$rabbit_job" || die "rabbitmq failed to start (see $DATA/rabbitmq/rabbitmq.log)"; fi
  status
}
prepare() {
  do_install
  wanted postgres && pg_prepare
  wanted redis && mkdir -p "$DATA/redis"
  wanted rabbitmq && rabbit_prepare
  wanted clickhouse && clickhouse_prepare
  log "prepared $DATA"
}
down() {
  wanted clickhouse && clickhouse_down
  wanted redis && redis_down
  wanted postgres && pg_down
  wanted rabbitmq && rabbit_down
  true
}
status() {
  wanted postgres && status_line postgres pg_ready "$PG_PORT" "$DATA/postgres/data/postmaster.pid"
  wanted redis && status_line redis redis_ready "$REDIS_PORT" "$DATA/redis/pid"
  wanted rabbitmq && status_line rabbitmq amqp_ready "$AMQP_PORT" "$DATA/rabbitmq/pid" "$DATA/rabbitmq/epmd.pid"
  wanted clickhouse && status_line clickhouse clickhouse_ready "$CH_PORT" "$DATA/clickhouse/pid"
  true
}

case "$cmd" in
  install) with_lock do_install ;;
  install-browser) with_lock do_install_browser ;;
  up|start) with_lock up ;;
  prepare) with_lock prepare ;;
  down|stop) with_lock down ;;
  status) status ;;
  reset) with_lock reset ;;
  vhost-add) vhost_add ;;
  vhost-delete) vhost_delete ;;
  *) echo "usage: infra/infra.sh install|up|down|status [options]" >&2; exit 2 ;;
esac
