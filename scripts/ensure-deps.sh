#!/bin/sh
# Installs the npm dependencies (including the pinned Node.js runtime) when they are missing or
# older than package-lock.json, so each README command works on a fresh clone by itself.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ ! -x node_modules/.bin/node ]; then
  echo "operon: installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
