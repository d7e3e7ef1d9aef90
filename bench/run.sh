#!/usr/bin/env bash
# sfauth benchmarks: sfauth against its floors (cat, curl) and against jsforce and
# requests-oauthlib, side by side in one run, on the Salesforce emulator on 127.0.0.1.
#
#   bench/run.sh            # from the repository root (or anywhere: it cds there)
#
# It runs bench/install.sh first (idempotent: a no-op once everything is installed), with
# the environment as it came, so that the registries are reached through the machine's proxy
# and CA settings. Only then does it clear proxies, sfauth's own settings and the CA
# variables, and measure: from there on nothing talks to anything but 127.0.0.1.
#
# Writes raw results to bench/out/ (hyperfine JSON, emulator counters, example output,
# max RSS) and a summary to bench/out/results.md, which it also prints. Every request loop
# is bounded in count and time.
#
# Knobs (environment): BENCH_RUNS (hyperfine runs of fast commands, default 200),
# BENCH_SLOW_RUNS (runs of the node/python scripts, default 30), BENCH_CALLERS (parallel
# `sfauth token` processes, default 64), BENCH_ROUNDS (rounds of those, default 5),
# BENCH_TASKS (tasks in the single_flight example, default 10000), BENCH_LATENCY_MS
# (emulated processing time of a refresh for benchmarks 3 and 4, default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out
RUNS=${BENCH_RUNS:-200}
SLOW_RUNS=${BENCH_SLOW_RUNS:-30}
CALLERS=${BENCH_CALLERS:-64}
ROUNDS=${BENCH_ROUNDS:-5}
TASKS=${BENCH_TASKS:-10000}
LATENCY_MS=${BENCH_LATENCY_MS:-100}
CLIENT_ID=sfauth-emulator-client
STEP_TIMEOUT=600 # seconds: no single step may run longer

log() { printf '\n== %s\n' "$*" >&2; }
warn() { printf 'bench: %s\n' "$*" >&2; }
die() {
  warn "$*"
  exit 1
}
# status KEY TEXT: "measured" or "not measured: why", read by summarize.py.
status() { printf '%s\t%s\n' "$1" "$2" >>"$OUT/status.tsv"; }

rm -rf "$OUT"
mkdir -p "$OUT"
: >"$OUT/status.tsv"

# ---------------------------------------------------------------------------------------
log "installing what the comparisons need (bench/install.sh, registries only)"
bench/install.sh || warn "bench/install.sh could not install everything: what is missing is not measured"
# The same checks install.sh makes: what is here decides what is measured.
HAVE_CURL=1 HAVE_HYPERFINE=1 HAVE_TIME=1 HAVE_JSFORCE=1 HAVE_OAUTHLIB=1
command -v curl >/dev/null 2>&1 || HAVE_CURL=
command -v hyperfine >/dev/null 2>&1 || HAVE_HYPERFINE=
test -x /usr/bin/time || HAVE_TIME=
node -e "require('$ROOT/bench/.node/node_modules/jsforce')" >/dev/null 2>&1 || HAVE_JSFORCE=
bench/.venv/bin/python -c 'import requests_oauthlib' >/dev/null 2>&1 || HAVE_OAUTHLIB=
[ -n "$HAVE_HYPERFINE" ] || warn "hyperfine is missing: benchmarks 1 and 2 are not measured"

# Loopback only: keep any proxy out of the way, and keep the user's sfauth settings out.
export NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1"
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy || true
unset SFAUTH_TOKEN_FILE SFAUTH_CLIENT_ID SFAUTH_CLIENT_SECRET SFAUTH_CLIENT_SECRET_FILE \
  SFAUTH_LOGIN_URL SFAUTH_SITE SFAUTH_ORG SFAUTH_MAX_AGE SFAUTH_FORMAT SFAUTH_LOG || true
export SFAUTH_HOME="$OUT/sfauth-home"
export CARGO_TERM_COLOR=never
# Every tool measured below runs with its default CA set-up. Some images export these for
# every program (node then loads an extra CA file at start-up, rustls reads what they name).
unset SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE CURL_CA_BUNDLE || true

# ---------------------------------------------------------------------------------------
log "building (release)"
timeout 1800 cargo build --release --locked -p sfauth-cli -p sfauth-emulator >&2
timeout 1800 cargo build --release --locked -p sfauth --example single_flight >&2
timeout 600 cargo build --release --locked --manifest-path bench/rust-cat/Cargo.toml \
  --target-dir target/bench-rust-cat >&2
SFAUTH=$ROOT/target/release/sfauth
EMU=$ROOT/target/release/sfauth-emulator
EXAMPLE=$ROOT/target/release/examples/single_flight
RUST_CAT=$ROOT/target/bench-rust-cat/release/rust-cat
for bin in "$SFAUTH" "$EMU" "$EXAMPLE" "$RUST_CAT"; do [ -x "$bin" ] || die "missing $bin"; done

# ---------------------------------------------------------------------------------------
EMU_PIDS=()
# shellcheck source=bench/stores.sh
source bench/stores.sh
cleanup() {
  local pid
  for pid in "${EMU_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  stop_stores
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_emulator NAME TOKEN_FILE FLAGS...: starts sfauth-emulator on a random port of
# 127.0.0.1, has it issue a token into TOKEN_FILE, and sets EMU_URL from its first line.
start_emulator() {
  local name=$1 token=$2 pid _
  shift 2
  "$EMU" --client-id "$CLIENT_ID" --issue-token bench@example.com --token-file "$token" "$@" \
    >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
  pid=$!
  EMU_PIDS+=("$pid")
  for _ in $(seq 200); do
    [ -s "$OUT/$name.stdout" ] && break
    kill -0 "$pid" 2>/dev/null || die "$name exited: $(cat "$OUT/$name.stderr")"
    sleep 0.05
  done
  EMU_URL=$(head -n1 "$OUT/$name.stdout")
  [[ $EMU_URL == http://127.0.0.1:* || $EMU_URL == https://127.0.0.1:* ]] ||
    die "$name printed no URL"
}
emu_stats() { # emu_stats URL OUTFILE [CA_FILE]
  python3 bench/emulator_stats.py "$1" "$2" "${3:-}"
}

# Emulator A: rotation off, no latency: every tool can refresh the same refresh token
# again and again (with rotation on, a replayed refresh token revokes its family).
F_FRESH=$OUT/token_fresh.json   # benchmark 1 and 5: never refreshed
F_REFRESH=$OUT/token_refresh.json # benchmark 2: refreshed over and over
start_emulator emulator_norotation "$F_REFRESH" --no-rotation
URL_A=$EMU_URL
cp "$F_REFRESH" "$F_FRESH"
chmod 600 "$F_FRESH"
TOKEN_URL_A=$URL_A/services/oauth2/token
# The curl floor sends exactly the form sfauth sends (no secret: the emulator does not
# require one, and none of the tools is given one).
python3 bench/refresh_form.py "$F_REFRESH" "$CLIENT_ID" >"$OUT/refresh_form.txt"
log "emulator A (no rotation, no latency): $URL_A"

# Emulator B: rotation on, LATENCY_MS per token request, for the single-flight benchmark.
F_STALE=$OUT/token_parallel.json
start_emulator emulator_rotation "$F_STALE" --latency-ms "$LATENCY_MS"
URL_B=$EMU_URL
log "emulator B (rotation, ${LATENCY_MS} ms per refresh): $URL_B"

CMD_TOKEN="$SFAUTH token --token-file '$F_FRESH' --client-id $CLIENT_ID"
CMD_CAT="cat '$F_FRESH'"
CMD_RUST_CAT="'$RUST_CAT' '$F_FRESH'"
CMD_VERSION="$SFAUTH --version"
CMD_REFRESH="$SFAUTH refresh --token-file '$F_REFRESH' --client-id $CLIENT_ID --login-url $URL_A"
CMD_CURL="curl -sS --fail -o '$OUT/curl_response.json' --data '@$OUT/refresh_form.txt' $TOKEN_URL_A"
CMD_JSFORCE="node '$ROOT/bench/refresh_jsforce.js' $URL_A $CLIENT_ID '$F_REFRESH'"
CMD_OAUTHLIB="'$ROOT/bench/.venv/bin/python' '$ROOT/bench/refresh_requests_oauthlib.py' $URL_A $CLIENT_ID '$F_REFRESH'"
export OAUTHLIB_INSECURE_TRANSPORT=1 # http:// to 127.0.0.1 only
printf '%s\n' "$CMD_TOKEN" "$CMD_CAT" "$CMD_RUST_CAT" "$CMD_VERSION" "$CMD_REFRESH" "$CMD_CURL" "$CMD_JSFORCE" "$CMD_OAUTHLIB" \
  >"$OUT/commands.txt"

# Sanity: each tool does one real refresh before it is timed.
"$SFAUTH" token --token-file "$F_FRESH" --client-id "$CLIENT_ID" >/dev/null 2>>"$OUT/sanity.log" ||
  die "sfauth token failed: $(cat "$OUT/sanity.log")"
"$SFAUTH" refresh --token-file "$F_REFRESH" --client-id "$CLIENT_ID" --login-url "$URL_A" \
  2>>"$OUT/sanity.log" || die "sfauth refresh failed: $(cat "$OUT/sanity.log")"

# ---------------------------------------------------------------------------------------
# Also timed, to split the cost: a std-only Rust cat (Rust's own start-up) and
# `sfauth --version` (loading the sfauth binary and parsing its command line, no token work).
log "1. sfauth token (fresh token) vs cat"
if [ -n "$HAVE_HYPERFINE" ]; then
  if timeout $STEP_TIMEOUT hyperfine -N --warmup 5 --runs "$RUNS" \
    --export-json "$OUT/1_token_vs_cat.json" \
    -n cat "$CMD_CAT" -n "sfauth token" "$CMD_TOKEN" -n rust-cat "$CMD_RUST_CAT" \
    -n "sfauth --version" "$CMD_VERSION" >"$OUT/1_token_vs_cat.txt" 2>&1; then
    status token measured
  else status token "not measured: hyperfine failed (see 1_token_vs_cat.txt)"; fi
else status token "not measured: hyperfine could not be installed"; fi
# Second opinion: hyperfine times one command after the other, so drift in the machine's
# load lands on one of them; this interleaves them run by run (A B C D, D C B A, ...).
timeout $STEP_TIMEOUT python3 bench/interleave.py 300 "$CMD_CAT" "$CMD_TOKEN" "$CMD_RUST_CAT" \
  "$CMD_VERSION" >"$OUT/1_interleaved.json" || warn "interleaved timing of benchmark 1 failed"

# ---------------------------------------------------------------------------------------
log "2. one refresh: sfauth refresh vs curl vs jsforce vs requests-oauthlib"
emu_stats "$URL_A" "$OUT/2_stats_before.json"
if [ -z "$HAVE_CURL" ]; then
  status curl "not measured: curl could not be installed"
elif [ -z "$HAVE_HYPERFINE" ]; then
  status curl "not measured: hyperfine could not be installed"
elif timeout $STEP_TIMEOUT hyperfine -N --warmup 5 --runs "$RUNS" \
  --export-json "$OUT/2_refresh_vs_curl.json" \
  -n curl "$CMD_CURL" -n "sfauth refresh" "$CMD_REFRESH" >"$OUT/2_refresh_vs_curl.txt" 2>&1; then
  status curl measured
else
  status curl "not measured: hyperfine failed (see 2_refresh_vs_curl.txt)"
fi
if [ -n "$HAVE_CURL" ]; then # second opinion, interleaved
  timeout $STEP_TIMEOUT python3 bench/interleave.py 100 "$CMD_CURL" "$CMD_REFRESH" \
    >"$OUT/2_interleaved.json" || warn "interleaved timing of benchmark 2 failed"
fi

if [ -n "$HAVE_HYPERFINE" ]; then
  SLOW=(-n "sfauth refresh" "$CMD_REFRESH")
  if [ -n "$HAVE_JSFORCE" ]; then
    SLOW+=(-n jsforce "$CMD_JSFORCE")
    status jsforce measured
  else status jsforce "not measured: npm install jsforce@3 failed"; fi
  if [ -n "$HAVE_OAUTHLIB" ]; then
    SLOW+=(-n requests-oauthlib "$CMD_OAUTHLIB")
    status oauthlib measured
  else status oauthlib "not measured: pip install requests-oauthlib failed"; fi
  if [ ${#SLOW[@]} -gt 3 ]; then
    timeout $STEP_TIMEOUT hyperfine -N --warmup 3 --runs "$SLOW_RUNS" \
      --export-json "$OUT/2_refresh_vs_libraries.json" "${SLOW[@]}" \
      >"$OUT/2_refresh_vs_libraries.txt" 2>&1 || {
      status jsforce "not measured: hyperfine failed (see 2_refresh_vs_libraries.txt)"
      status oauthlib "not measured: hyperfine failed (see 2_refresh_vs_libraries.txt)"
    }
  fi
else
  status jsforce "not measured: hyperfine could not be installed"
  status oauthlib "not measured: hyperfine could not be installed"
fi
# Context: the libraries' cost once loaded (N refreshes in one process).
if [ -n "$HAVE_JSFORCE" ]; then
  timeout 120 node bench/refresh_jsforce.js "$URL_A" "$CLIENT_ID" "$F_REFRESH" --loop 100 \
    >"$OUT/2_jsforce_inprocess.json" || warn "jsforce in-process loop failed"
fi
if [ -n "$HAVE_OAUTHLIB" ]; then
  timeout 120 bench/.venv/bin/python bench/refresh_requests_oauthlib.py "$URL_A" "$CLIENT_ID" \
    "$F_REFRESH" --loop 100 >"$OUT/2_oauthlib_inprocess.json" || warn "oauthlib in-process loop failed"
fi
emu_stats "$URL_A" "$OUT/2_stats_after.json"

# ---------------------------------------------------------------------------------------
log "3. $CALLERS sfauth token processes at once, fresh (baseline) then stale (rotation on)"
timeout $STEP_TIMEOUT python3 bench/parallel_token.py --sfauth "$SFAUTH" --token-file "$F_STALE" \
  --client-id "$CLIENT_ID" --login-url "$URL_B" --callers "$CALLERS" --rounds "$ROUNDS" \
  >"$OUT/3_parallel_fresh.json" || warn "parallel fresh baseline had failures"
timeout $STEP_TIMEOUT python3 bench/parallel_token.py --sfauth "$SFAUTH" --token-file "$F_STALE" \
  --client-id "$CLIENT_ID" --login-url "$URL_B" --callers "$CALLERS" --rounds "$ROUNDS" --stale \
  >"$OUT/3_parallel_stale.json" || warn "parallel stale run had failures"
# Baseline: one process on a stale token (one refresh, nobody to wait for).
timeout $STEP_TIMEOUT python3 bench/parallel_token.py --sfauth "$SFAUTH" --token-file "$F_STALE" \
  --client-id "$CLIENT_ID" --login-url "$URL_B" --callers 1 --rounds "$ROUNDS" --stale \
  >"$OUT/3_parallel_stale_1.json" || warn "single stale run had failures"
emu_stats "$URL_B" "$OUT/3_stats_total.json"
status parallel measured

# ---------------------------------------------------------------------------------------
log "4. single_flight example: $TASKS tasks on one Session, stale token (rotation on)"
# Baselines: 1 task (one refresh, nobody waiting) and 1000 tasks, for the cost per task.
: >"$OUT/4_single_flight.jsonl"
: >"$OUT/4_single_flight_1task.jsonl"
: >"$OUT/4_single_flight_1000tasks.jsonl"
for _ in 1 2 3; do
  timeout 180 "$EXAMPLE" 1 "$LATENCY_MS" >>"$OUT/4_single_flight_1task.jsonl" ||
    warn "single_flight 1 failed"
  timeout 180 "$EXAMPLE" 1000 "$LATENCY_MS" >>"$OUT/4_single_flight_1000tasks.jsonl" ||
    warn "single_flight 1000 failed"
  timeout 180 "$EXAMPLE" "$TASKS" "$LATENCY_MS" >>"$OUT/4_single_flight.jsonl" ||
    warn "single_flight $TASKS failed"
done
# Context: one refresh in-process with no emulated latency: the cold cost of a refresh in a
# long-running program (HTTP client set-up, lock, request, durable write).
: >"$OUT/4_single_flight_1task_0ms.jsonl"
for _ in 1 2 3 4 5; do
  timeout 60 "$EXAMPLE" 1 0 >>"$OUT/4_single_flight_1task_0ms.jsonl" || warn "single_flight 1 0 failed"
done
status example measured

# ---------------------------------------------------------------------------------------
log "5. peak memory (max RSS, /usr/bin/time -v)"
if [ -n "$HAVE_TIME" ]; then
  : >"$OUT/5_rss.tsv"
  rss() { # rss NAME CMD...: 10 runs, one "NAME<TAB>KB" line each
    local name=$1 _
    shift
    for _ in $(seq 10); do
      timeout 60 /usr/bin/time -v -o "$OUT/time.tmp" "$@" >/dev/null 2>&1 || true
      printf '%s\t%s\n' "$name" \
        "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.tmp")" >>"$OUT/5_rss.tsv"
    done
  }
  rss cat cat "$F_FRESH"
  rss rust-cat "$RUST_CAT" "$F_FRESH"
  rss "sfauth --version" "$SFAUTH" --version
  rss "sfauth token" "$SFAUTH" token --token-file "$F_FRESH" --client-id "$CLIENT_ID"
  if [ -n "$HAVE_CURL" ]; then
    rss curl curl -sS --fail -o "$OUT/curl_response.json" --data "@$OUT/refresh_form.txt" "$TOKEN_URL_A"
  fi
  rss "sfauth refresh" "$SFAUTH" refresh --token-file "$F_REFRESH" --client-id "$CLIENT_ID" \
    --login-url "$URL_A"
  rm -f "$OUT/time.tmp"
  status rss measured
else status rss "not measured: GNU time could not be installed"; fi
emu_stats "$URL_A" "$OUT/5_stats_norotation_total.json"

# ---------------------------------------------------------------------------------------
log "6. one refresh over https: sfauth refresh vs curl, both trusting the emulator's CA"
# Emulator C: as A, but https with a CA generated at start-up and written to a file; both
# tools are given that file (the system store cannot know it), so both pay the handshake.
F_TLS=$OUT/token_tls.json
CA_PEM=$OUT/emulator_ca.pem
start_emulator emulator_tls "$F_TLS" --no-rotation --tls --ca-out "$CA_PEM"
URL_C=$EMU_URL
python3 bench/refresh_form.py "$F_TLS" "$CLIENT_ID" >"$OUT/refresh_form_tls.txt"
CMD_REFRESH_TLS="$SFAUTH refresh --token-file '$F_TLS' --client-id $CLIENT_ID --login-url $URL_C --ca-file '$CA_PEM'"
# sfauth trusts the system's roots plus --ca-file; curl's --cacert replaces its roots, so
# curl is given the system bundle with the emulator's CA appended: the same trust, the same
# certificates to load. curl with the one CA alone is timed too, as context.
SYSTEM_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CA_BUNDLE=$OUT/system_plus_emulator_ca.pem
cat "$SYSTEM_BUNDLE" "$CA_PEM" >"$CA_BUNDLE" 2>/dev/null || cp "$CA_PEM" "$CA_BUNDLE"
CURL_TLS_TAIL="-o '$OUT/curl_response_tls.json' --data '@$OUT/refresh_form_tls.txt' $URL_C/services/oauth2/token"
CMD_CURL_TLS="curl -sS --fail --cacert '$CA_BUNDLE' $CURL_TLS_TAIL"
CMD_CURL_TLS_ONE="curl -sS --fail --cacert '$CA_PEM' $CURL_TLS_TAIL"
printf '%s\n' "$CMD_REFRESH_TLS" "$CMD_CURL_TLS" "$CMD_CURL_TLS_ONE" >>"$OUT/commands.txt"
if ! "$SFAUTH" refresh --token-file "$F_TLS" --client-id "$CLIENT_ID" --login-url "$URL_C" \
  --ca-file "$CA_PEM" 2>>"$OUT/sanity.log"; then
  status https "not measured: sfauth refresh over https failed (see sanity.log)"
elif [ -z "$HAVE_CURL" ]; then
  status https "not measured: curl could not be installed"
elif [ -z "$HAVE_HYPERFINE" ]; then
  status https "not measured: hyperfine could not be installed"
elif timeout $STEP_TIMEOUT hyperfine -N --warmup 5 --runs "$RUNS" \
  --export-json "$OUT/6_https_refresh_vs_curl.json" \
  -n curl "$CMD_CURL_TLS" -n "sfauth refresh" "$CMD_REFRESH_TLS" \
  -n "curl, emulator CA only" "$CMD_CURL_TLS_ONE" \
  >"$OUT/6_https_refresh_vs_curl.txt" 2>&1; then
  status https measured
else
  status https "not measured: hyperfine failed (see 6_https_refresh_vs_curl.txt)"
fi
emu_stats "$URL_C" "$OUT/6_stats_tls_total.json" "$CA_PEM"

# ---------------------------------------------------------------------------------------
log "7. a fresh token from each store: file vs PostgreSQL vs Redis vs cat (and the servers' own clients)"
# The servers are the benchmark's own (bench/stores.sh), with the durable settings the README
# recommends for a fleet; only 127.0.0.1. The password reaches sfauth, psql and redis-cli
# through the environment, never the command line of sfauth.
export SFAUTH_STORE_PASSWORD=$STORE_PASSWORD PGPASSWORD=$STORE_PASSWORD REDISCLI_AUTH=$STORE_PASSWORD
HAVE_PG=1 HAVE_REDIS=1
start_postgres || { HAVE_PG=; warn "PostgreSQL did not start: see $OUT/postgres/"; }
start_redis || { HAVE_REDIS=; warn "Redis did not start: see $OUT/redis/"; }
STORES=()
[ -n "$HAVE_PG" ] && STORES+=("postgres|$PG_URL")
[ -n "$HAVE_REDIS" ] && STORES+=("redis|$REDIS_URL")
for entry in "${STORES[@]}"; do
  # Emulator A's token: rotation is off there, so the same token in two stores is harmless
  # (with rotation, two copies of one refresh token are what a fleet store prevents).
  "$SFAUTH" store import --store "${entry#*|}" --store-key fresh "$F_FRESH" 2>>"$OUT/sanity.log" ||
    die "sfauth store import into ${entry%%|*} failed: $(cat "$OUT/sanity.log")"
done
if [ -z "$HAVE_HYPERFINE" ]; then
  status stores "not measured: hyperfine could not be installed"
elif [ ${#STORES[@]} -eq 0 ]; then
  status stores "not measured: neither PostgreSQL nor Redis could be started (bench/install.sh installs them)"
else
  STORE_CMDS=(-n cat "$CMD_CAT" -n "sfauth token (file)" "$CMD_TOKEN")
  if [ -n "$HAVE_PG" ]; then
    STORE_CMDS+=(-n "sfauth token (postgres)" "$SFAUTH token --store '$PG_URL' --store-key fresh --client-id $CLIENT_ID")
    command -v psql >/dev/null &&
      STORE_CMDS+=(-n psql "psql -X -q -A -t -d '$PG_URL' -c \"SELECT token FROM sfauth_tokens WHERE key = 'fresh'\"")
  fi
  if [ -n "$HAVE_REDIS" ]; then
    STORE_CMDS+=(-n "sfauth token (redis)" "$SFAUTH token --store '$REDIS_URL' --store-key fresh --client-id $CLIENT_ID")
    command -v redis-cli >/dev/null &&
      STORE_CMDS+=(-n redis-cli "redis-cli -u '$REDIS_URL' HGET 'sfauth:{fresh}:token' token")
  fi
  for ((i = 2; i < ${#STORE_CMDS[@]}; i += 3)); do printf '%s\n' "${STORE_CMDS[i]}"; done >>"$OUT/commands.txt"
  if timeout $STEP_TIMEOUT hyperfine -N --warmup 5 --runs "$RUNS" \
    --export-json "$OUT/7_token_by_store.json" "${STORE_CMDS[@]}" >"$OUT/7_token_by_store.txt" 2>&1; then
    status stores measured
  else status stores "not measured: hyperfine failed (see 7_token_by_store.txt)"; fi
fi

# ---------------------------------------------------------------------------------------
log "8. the fleet stampede: $CALLERS processes in 8 homes on one stale token in each store"
# One emulator per store, rotation on and LATENCY_MS per refresh as in benchmark 3, so each
# store's token family is its own.
for entry in "${STORES[@]}"; do
  name=${entry%%|*} url=${entry#*|}
  start_emulator "emulator_$name" "$OUT/token_$name.json" --latency-ms "$LATENCY_MS"
  URL_S=$EMU_URL
  "$SFAUTH" store import --store "$url" --store-key stampede "$OUT/token_$name.json" 2>>"$OUT/sanity.log" ||
    die "sfauth store import into $name failed: $(cat "$OUT/sanity.log")"
  # The stampede, then its baseline: one process on the same stale token (one refresh,
  # nobody to wait for).
  for run in "stampede $CALLERS 8" "one 1 1"; do
    read -r what callers homes <<<"$run"
    timeout $STEP_TIMEOUT python3 bench/parallel_token.py --sfauth "$SFAUTH" --store "$url" \
      --store-key stampede --homes "$homes" --client-id "$CLIENT_ID" --login-url "$URL_S" \
      --callers "$callers" --rounds "$ROUNDS" --stale >"$OUT/8_${name}_${what}.json" ||
      warn "stampede on $name with $callers callers had failures"
  done
  emu_stats "$URL_S" "$OUT/8_${name}_stats_total.json"
done
if [ ${#STORES[@]} -gt 0 ]; then
  status stampede measured
else status stampede "not measured: neither PostgreSQL nor Redis could be started"; fi

# ---------------------------------------------------------------------------------------
log "9. a token from the agent: curl --unix-socket and sfauth token through it vs cat"
# Emulator A's fresh token adopted as the org `bench` of the benchmark's home; the agent
# serves it on the home's socket (no XDG_RUNTIME_DIR here), where `sfauth token` looks.
unset XDG_RUNTIME_DIR || true
AGENT_SOCK=$SFAUTH_HOME/run/agent.sock
"$SFAUTH" login token-file --alias bench --client-id "$CLIENT_ID" "$F_FRESH" 2>>"$OUT/sanity.log" ||
  die "sfauth login token-file failed: $(cat "$OUT/sanity.log")"
"$SFAUTH" agent --org bench >"$OUT/agent.stdout" 2>"$OUT/agent.stderr" &
EMU_PIDS+=($!) # stopped with the emulators
for _ in $(seq 200); do
  grep -q "serving" "$OUT/agent.stderr" 2>/dev/null && break
  sleep 0.05
done
CMD_AGENT_CURL="curl -s --fail --unix-socket '$AGENT_SOCK' -o '$OUT/agent_token.json' http://agent/v1/orgs/bench/token"
CMD_AGENT_TOKEN="$SFAUTH token --org bench"
CMD_NOAGENT_TOKEN="$SFAUTH token --org bench --no-agent"
printf '%s\n' "$CMD_AGENT_CURL" "$CMD_AGENT_TOKEN" "$CMD_NOAGENT_TOKEN" >>"$OUT/commands.txt"
if ! grep -q "serving" "$OUT/agent.stderr" 2>/dev/null; then
  status agent "not measured: the agent did not start (see agent.stderr)"
elif [ -z "$HAVE_HYPERFINE" ] || [ -z "$HAVE_CURL" ]; then
  status agent "not measured: hyperfine or curl could not be installed"
elif timeout $STEP_TIMEOUT hyperfine -N --warmup 5 --runs "$RUNS" \
  --export-json "$OUT/9_agent.json" -n cat "$CMD_CAT" -n "curl --unix-socket" "$CMD_AGENT_CURL" \
  -n "sfauth token (agent)" "$CMD_AGENT_TOKEN" -n "sfauth token --no-agent" "$CMD_NOAGENT_TOKEN" \
  >"$OUT/9_agent.txt" 2>&1; then
  status agent measured
  # Second opinion, interleaved, with the start-up floor of the binary beside it.
  timeout $STEP_TIMEOUT python3 bench/interleave.py 300 "$CMD_CAT" "$CMD_AGENT_TOKEN" \
    "$CMD_NOAGENT_TOKEN" "$CMD_VERSION" >"$OUT/9_interleaved.json" ||
    warn "interleaved timing of benchmark 9 failed"
else status agent "not measured: hyperfine failed (see 9_agent.txt)"; fi

# ---------------------------------------------------------------------------------------
log "10. a REST call through sfauth proxy vs the same call by curl with the header"
# Both are curl, to the same emulator and resource: one through the proxy (which adds the
# token), one straight to the instance with the header read from a file (-H @FILE: the
# token is not in curl's arguments either).
PROXY_REST=/services/data/v62.0/limits
"$SFAUTH" header --org bench --no-agent >"$OUT/bench.header" 2>>"$OUT/sanity.log" ||
  die "sfauth header failed: $(cat "$OUT/sanity.log")"
"$SFAUTH" proxy --org bench --listen 127.0.0.1:0 >"$OUT/proxy.stdout" 2>"$OUT/proxy.stderr" &
EMU_PIDS+=($!) # stopped with the emulators
for _ in $(seq 200); do
  [ -s "$OUT/proxy.stdout" ] && break
  sleep 0.05
done
PROXY_URL=$(head -n1 "$OUT/proxy.stdout" 2>/dev/null || true)
CMD_PROXY_CURL="curl -s --fail -o '$OUT/proxy_limits.json' $PROXY_URL$PROXY_REST"
CMD_DIRECT_CURL="curl -s --fail -o '$OUT/direct_limits.json' -H '@$OUT/bench.header' $URL_A$PROXY_REST"
printf '%s\n' "$CMD_PROXY_CURL" "$CMD_DIRECT_CURL" >>"$OUT/commands.txt"
if [[ $PROXY_URL != http://127.0.0.1:* ]]; then
  status proxy "not measured: the proxy did not start (see proxy.stderr)"
elif [ -z "$HAVE_HYPERFINE" ] || [ -z "$HAVE_CURL" ]; then
  status proxy "not measured: hyperfine or curl could not be installed"
elif timeout $STEP_TIMEOUT hyperfine -N --warmup 5 --runs "$RUNS" \
  --export-json "$OUT/10_proxy.json" -n "curl, header, direct" "$CMD_DIRECT_CURL" \
  -n "curl through sfauth proxy" "$CMD_PROXY_CURL" >"$OUT/10_proxy.txt" 2>&1 &&
  cmp -s "$OUT/proxy_limits.json" "$OUT/direct_limits.json"; then
  status proxy measured
else status proxy "not measured: hyperfine failed or the two answers differ (see 10_proxy.txt)"; fi

# ---------------------------------------------------------------------------------------
log "summary"
python3 bench/summarize.py "$OUT"
