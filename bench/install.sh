#!/usr/bin/env bash
# Installs what bench/run.sh compares sfauth against, from the package registries only:
#
#   bench/install.sh        # from anywhere: it cds to the repository root
#
# - curl, hyperfine, GNU time, PostgreSQL and Redis with apt-get (only when root and apt-get
#   exists);
# - jsforce 3 with npm into bench/.node (bench/refresh_jsforce.js requires it from there);
# - requests-oauthlib with pip into the venv bench/.venv (for bench/refresh_requests_oauthlib.py);
# - the crates the release builds of bench/run.sh need (`cargo fetch --locked` for this
#   machine's target; bench/rust-cat is std-only), so that measuring downloads nothing.
#
# Idempotent: each piece is checked first and installed only when missing, so a second run
# changes nothing and makes no network request. bench/run.sh calls it before measuring.
#
# Unlike bench/run.sh it leaves the environment as it is: registries are reached through the
# machine's proxy and CA settings (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE,
# PIP_CERT, ...), which some images need for any TLS to leave the machine.
#
# Exits 0 when everything is in place, 1 when something could not be installed (each named
# on stderr). bench/run.sh goes on regardless and marks what is missing "not measured".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
INSTALL_TIMEOUT=300 # seconds per install command: a stalled registry must not hang the run

warn() { printf 'bench/install: %s\n' "$*" >&2; }
MISSING=()

APT_UPDATED=
apt_install() { # apt_install PACKAGE CHECK-COMMAND...: installs PACKAGE unless CHECK succeeds
  local pkg=$1
  shift
  if "$@" >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ -z "$APT_UPDATED" ]; then
      timeout $INSTALL_TIMEOUT apt-get update -qq >&2 || warn "apt-get update failed"
      APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive timeout $INSTALL_TIMEOUT apt-get install -y -qq "$pkg" >&2 ||
      warn "apt-get install $pkg failed"
  else
    warn "$pkg is missing and this is not root with apt-get: not installing it"
  fi
  "$@" >/dev/null 2>&1 || MISSING+=("$pkg")
}
apt_install curl command -v curl
apt_install hyperfine command -v hyperfine
apt_install time test -x /usr/bin/time
# The fleet stores of benchmarks 7 and 8 (bench/stores.sh starts servers of its own).
apt_install postgresql sh -c 'command -v initdb || ls /usr/lib/postgresql/*/bin/initdb'
apt_install redis-server command -v redis-server

# The same check as bench/run.sh makes before measuring jsforce.
JSFORCE_CHECK=(node -e "require('$ROOT/bench/.node/node_modules/jsforce')")
if ! "${JSFORCE_CHECK[@]}" >/dev/null 2>&1; then
  if command -v npm >/dev/null; then
    mkdir -p bench/.node
    timeout $INSTALL_TIMEOUT npm install --prefix bench/.node --no-audit --no-fund \
      --loglevel=error jsforce@3 >&2 || warn "npm install jsforce@3 failed"
  else
    warn "npm is missing"
  fi
  "${JSFORCE_CHECK[@]}" >/dev/null 2>&1 || MISSING+=(jsforce@3)
fi

if ! bench/.venv/bin/python -c 'import requests_oauthlib' >/dev/null 2>&1; then
  if [ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv >&2; then
    timeout $INSTALL_TIMEOUT bench/.venv/bin/pip install -q --disable-pip-version-check \
      requests-oauthlib >&2 || warn "pip install requests-oauthlib failed"
  else
    warn "python3 -m venv bench/.venv failed"
  fi
  bench/.venv/bin/python -c 'import requests_oauthlib' >/dev/null 2>&1 || MISSING+=(requests-oauthlib)
fi

# Only the host's crates: the release builds are native, and other targets' crates (windows-sys
# and the like) would only be downloaded to lie unused. A no-op when they are all in cargo's
# cache already.
if HOST=$(rustc -vV | awk '/^host:/ {print $2}') && [ -n "$HOST" ]; then
  timeout $INSTALL_TIMEOUT cargo fetch --locked --target "$HOST" >&2 || MISSING+=("the workspace's crates")
else
  warn "rustc is missing: install Rust (rustup.rs) to build what bench/run.sh measures"
  MISSING+=("the workspace's crates")
fi

if [ ${#MISSING[@]} -gt 0 ]; then
  warn "not installed: ${MISSING[*]}"
  exit 1
fi
printf 'bench/install: curl, hyperfine, GNU time, jsforce 3, requests-oauthlib and the crates are in place\n' >&2
