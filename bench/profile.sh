#!/usr/bin/env bash
# Where the time of `sfauth token` (fresh) and `sfauth refresh` goes: the evidence behind
# the analysis in BENCHMARKS.md. Run after (or without) bench/run.sh, from anywhere:
#
#   bench/profile.sh        # writes bench/out/profile/, prints bench/out/profile/summary.txt
#
# - callgrind instruction counts (repeatable whatever the machine is doing) for cat, a
#   std-only Rust cat, `sfauth --version`, `sfauth token` and `sfauth refresh`, with the
#   inclusive cost of the functions that matter;
# - the dynamic loader's relocation statistics (LD_DEBUG=statistics) and page faults;
# - the files `sfauth refresh` opens (strace), and interleaved timings of `sfauth refresh`
#   with the system CA roots cut down (SSL_CERT_FILE/SSL_CERT_DIR) and with fsync made a
#   no-op (libeatmydata), against curl.
# Talks only to its own sfauth-emulator on 127.0.0.1; every loop is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out/profile
ROUNDS=${PROFILE_ROUNDS:-100}
CLIENT_ID=sfauth-emulator-client
rm -rf "$OUT"
mkdir -p "$OUT"
export NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1"
# Each tool with its default CA set-up (this machine's image sets these for everything).
unset SFAUTH_TOKEN_FILE SFAUTH_CLIENT_ID SFAUTH_CLIENT_SECRET SFAUTH_LOGIN_URL SFAUTH_LOG \
  SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE CURL_CA_BUNDLE || true
export SFAUTH_HOME="$OUT/sfauth-home"

have() { command -v "$1" >/dev/null 2>&1; }
if [ "$(id -u)" = 0 ] && have apt-get; then
  missing=()
  have valgrind || missing+=(valgrind)
  have strace || missing+=(strace)
  [ -e /usr/lib/x86_64-linux-gnu/libeatmydata.so ] || missing+=(eatmydata)
  have curl || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    timeout 300 apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq "${missing[@]}" >&2 ||
      echo "profile: could not install ${missing[*]}" >&2
  fi
fi
have valgrind || { echo "profile: valgrind is needed" >&2; exit 1; }

timeout 1800 cargo build --release --locked -p sfauth-cli -p sfauth-emulator >&2
timeout 600 cargo build --release --locked --manifest-path bench/rust-cat/Cargo.toml \
  --target-dir target/bench-rust-cat >&2
SFAUTH=$ROOT/target/release/sfauth
EMU=$ROOT/target/release/sfauth-emulator
RUST_CAT=$ROOT/target/bench-rust-cat/release/rust-cat

EMU_PID=
cleanup() { [ -z "$EMU_PID" ] || { kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; }; }
trap cleanup EXIT
F=$OUT/token.json
"$EMU" --client-id "$CLIENT_ID" --no-rotation --issue-token bench@example.com --token-file "$F" \
  >"$OUT/emulator.stdout" 2>"$OUT/emulator.stderr" &
EMU_PID=$!
for _ in $(seq 200); do [ -s "$OUT/emulator.stdout" ] && break; sleep 0.05; done
URL=$(head -n1 "$OUT/emulator.stdout")
[[ $URL == http://127.0.0.1:* ]] || { echo "profile: emulator printed no URL" >&2; exit 1; }
FRESH=$OUT/token_fresh.json
cp "$F" "$FRESH"
python3 bench/refresh_form.py "$F" "$CLIENT_ID" >"$OUT/refresh_form.txt"

S=$OUT/summary.txt
: >"$S"
say() { printf '%s\n' "$*" | tee -a "$S"; }

# ---------------------------------------------------------------------------------------
say "== instructions executed (callgrind), whole process"
cg() { # cg NAME CMD...
  local name=$1
  shift
  timeout 300 valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$name" "$@" \
    >/dev/null 2>"$OUT/callgrind.$name.log" || true
  printf '%-18s %12s\n' "$name" "$(awk '/Collected/ {print $4}' "$OUT/callgrind.$name.log")" | tee -a "$S"
}
cg cat cat "$FRESH"
cg rust-cat "$RUST_CAT" "$FRESH"
cg sfauth-version "$SFAUTH" --version
cg sfauth-token "$SFAUTH" token --token-file "$FRESH" --client-id "$CLIENT_ID"
cg sfauth-refresh "$SFAUTH" refresh --token-file "$F" --client-id "$CLIENT_ID" --login-url "$URL"

inclusive() { # inclusive NAME REGEX: the inclusive cost of matching functions
  callgrind_annotate --inclusive=yes "$OUT/callgrind.$1" 2>/dev/null |
    grep -E '^ *[0-9,]+ \(' | grep -E "$2" | sed -E 's/ \[[^]]*\]$//; s/\?\?\?://' | head -n 14 | tee -a "$S"
}
say ""
say "== sfauth token (fresh): inclusive instructions"
inclusive sfauth-token '_dl_start |_dl_relocate_object |sfauth::main |Parser::parse |pthread_getattr_np|try_init |Builder::build |Runtime::block_on |Session::current|FileStore as .*load|serde_json::de::from_trait'
say ""
say "== sfauth refresh: inclusive instructions"
inclusive sfauth-refresh 'sfauth::main |HttpClient::new |load_native_certs |load_pem_certs_from_dir |AppClient::refresh_once|write_private_file|Parser::parse |_dl_start '

# ---------------------------------------------------------------------------------------
say ""
say "== dynamic loader (LD_DEBUG=statistics) and page faults"
for name in cat sfauth; do
  if [ $name = cat ]; then cmd=(cat "$FRESH"); else cmd=("$SFAUTH" token --token-file "$FRESH" --client-id "$CLIENT_ID"); fi
  rel=$(LD_DEBUG=statistics "${cmd[@]}" 2>&1 >/dev/null | awk -F: '/number of relative relocations/ {gsub(/ /,"",$3); print $3}' | head -n1)
  faults=$(/usr/bin/time -f %R "${cmd[@]}" 2>&1 >/dev/null | tail -n1 || true)
  say "$(printf '%-8s relative relocations %6s   minor page faults %5s' "$name" "${rel:-?}" "${faults:-?}")"
done
say "sfauth binary: $(stat -c %s "$SFAUTH") bytes; rust-cat: $(stat -c %s "$RUST_CAT") bytes"

# ---------------------------------------------------------------------------------------
if have strace; then
  say ""
  say "== files opened by sfauth refresh (strace)"
  strace -f -e trace=openat,fsync -o "$OUT/strace.refresh" \
    "$SFAUTH" refresh --token-file "$F" --client-id "$CLIENT_ID" --login-url "$URL" 2>/dev/null
  say "openat total: $(grep -c 'openat(' "$OUT/strace.refresh"); under /etc/ssl or /usr/share/ca-certificates: $(grep -cE 'openat\(.*"(/etc/ssl|/usr/share/ca-certificates)' "$OUT/strace.refresh"); fsync: $(grep -c 'fsync(' "$OUT/strace.refresh")"
  say "certificates in /etc/ssl/certs (files and links): $(find /etc/ssl/certs -maxdepth 1 | wc -l)"
fi

# ---------------------------------------------------------------------------------------
say ""
say "== sfauth refresh decomposed (interleaved, $ROUNDS rounds, medians in ms)"
mkdir -p "$OUT/no-certs-dir"
awk '/BEGIN CERT/ {n++} n == 1 {print} /END CERT/ && n == 1 {exit}' \
  /etc/ssl/certs/ca-certificates.crt >"$OUT/one-root.pem"
R="$SFAUTH refresh --token-file $F --client-id $CLIENT_ID --login-url $URL"
BUNDLE=/etc/ssl/certs/ca-certificates.crt
# 1. as shipped: rustls-native-certs finds the bundle *and* the hashed directory (openssl-probe)
#    and parses every root twice; 2. the bundle only; 3. one root only (about what no TLS
#    set-up at all would cost, for an http:// loopback URL).
V=(
  "env $R"
  "env SSL_CERT_FILE=$BUNDLE $R"
  "env SSL_CERT_FILE=$OUT/one-root.pem SSL_CERT_DIR=$OUT/no-certs-dir $R"
)
EMD=/usr/lib/x86_64-linux-gnu/libeatmydata.so
[ -e $EMD ] && V+=("env LD_PRELOAD=$EMD $R" "env LD_PRELOAD=$EMD SSL_CERT_FILE=$OUT/one-root.pem SSL_CERT_DIR=$OUT/no-certs-dir $R")
have curl && V+=("env curl -sS --fail -o $OUT/curl_response.json --data @$OUT/refresh_form.txt $URL/services/oauth2/token")
V+=("env $SFAUTH token --token-file $FRESH --client-id $CLIENT_ID" "env $RUST_CAT $FRESH" "env cat $FRESH")
timeout 600 python3 bench/interleave.py "$ROUNDS" "${V[@]}" >"$OUT/interleaved.json"
python3 bench/interleaved_table.py "$OUT/interleaved.json" "$OUT" "$ROOT" | tee -a "$S"
say "(every command runs under env, so each pays the same extra exec)"

# ---------------------------------------------------------------------------------------
# Optional (PROFILE_NOPIE=1, a full rebuild: ~6 min on 2 cores): the same `sfauth` linked as
# a position-dependent executable, which the dynamic loader need not relocate (no 20,000
# relative relocations, no copy-on-write of .data.rel.ro at start-up). An experiment only:
# it changes no project file.
if [ "${PROFILE_NOPIE:-0}" = 1 ]; then
  HOST=$(rustc -vV | awk '/^host:/ {print $2}')
  RUSTFLAGS="-C relocation-model=static" timeout 1800 cargo build --release --locked \
    -p sfauth-cli --target "$HOST" --target-dir target/bench-nopie >&2
  NOPIE=$ROOT/target/bench-nopie/$HOST/release/sfauth
  say ""
  say "== sfauth token as a non-PIE executable (experiment)"
  cg sfauth-token-nopie "$NOPIE" token --token-file "$FRESH" --client-id "$CLIENT_ID"
  say "minor page faults: $(/usr/bin/time -f %R "$NOPIE" token --token-file "$FRESH" --client-id "$CLIENT_ID" 2>&1 >/dev/null | tail -n1)"
  timeout 600 python3 bench/interleave.py 300 "cat $FRESH" \
    "$SFAUTH token --token-file $FRESH --client-id $CLIENT_ID" \
    "$NOPIE token --token-file $FRESH --client-id $CLIENT_ID" >"$OUT/interleaved_nopie.json"
  python3 bench/nopie_table.py "$OUT/interleaved_nopie.json" | tee -a "$S"
fi
