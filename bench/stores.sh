# Sourced by bench/run.sh: starts a PostgreSQL and a Redis server of the benchmark's own, each
# in a directory under $OUT, on a free port of 127.0.0.1, with the settings the README gives
# for a fleet (durable commits: PostgreSQL's defaults, fsync on; Redis `appendfsync always`).
# Sets PG_URL / REDIS_URL (no password in them) and STORE_PASSWORD; stop_stores stops both.
# Needs: $OUT, die, warn; as root, the `postgres` user of Debian's package (setpriv).

STORE_PASSWORD=bench-store-password
STORE_PIDS=()

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_log FILE TEXT PID: until FILE holds TEXT (30 s at most), or PID has died.
wait_for_log() {
  local _
  for _ in $(seq 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

start_postgres() {
  local bin dir as_user=() port
  bin=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")")
  [ -x "$bin/postgres" ] || return 1
  dir=$OUT/postgres
  mkdir -p "$dir"
  printf '%s' "$STORE_PASSWORD" >"$dir/pw"
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    chown -R postgres:postgres "$dir" || return 1
    as_user=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
  fi
  "${as_user[@]}" "$bin/initdb" -D "$dir/data" -U sfauth --auth=scram-sha-256 \
    --pwfile="$dir/pw" -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 || return 1
  port=$(free_port)
  "${as_user[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -c listen_addresses=127.0.0.1 \
    -c "unix_socket_directories=$dir" -c max_connections=300 >"$dir/server.log" 2>&1 &
  STORE_PIDS+=($!)
  wait_for_log "$dir/server.log" "ready to accept connections" $! || return 1
  PG_URL="postgres://sfauth@127.0.0.1:$port/postgres?sslmode=disable"
}

start_redis() {
  local dir port
  command -v redis-server >/dev/null || return 1
  dir=$OUT/redis
  mkdir -p "$dir"
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
    --appendfsync always --requirepass "$STORE_PASSWORD" --maxclients 1000 \
    --logfile "$dir/server.log" &
  STORE_PIDS+=($!)
  wait_for_log "$dir/server.log" "Ready to accept connections" $! || return 1
  REDIS_URL="redis://127.0.0.1:$port/0"
}

stop_stores() {
  local pid
  for pid in "${STORE_PIDS[@]}"; do
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
