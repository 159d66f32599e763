#!/bin/sh
# Makes a fresh clone runnable: installs npm dependencies when the lock or a patch changed, and builds dist/.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ -n "$(find patches -name '*.patch' -newer node_modules/.package-lock.json)" ]; then
  echo "[ensure] installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi
echo "[ensure] building (tsc)" >&2
npm run --silent build
