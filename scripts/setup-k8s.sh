#!/usr/bin/env bash
# Builds the real etcd and kube-apiserver that test/k8s runs on loopback (docs/operator.md §Tests) into
# .tools/bin, from the pinned Go modules in scripts/k8s (go.mod: k8s.io/kubernetes + every k8s.io/* staging
# module pinned to its published v0.x twin; go.etcd.io/etcd/server/v3 at the version Kubernetes pins).
# Rebuilt only when scripts/k8s changes (stamp = hash of its go.mod, go.sum, sources and this script). Cold
# build (empty Go caches, downloads included) on a busy 2-core machine: ~23 min; warm: no-op (docs/operator.md).
# Called by scripts/setup-tools.sh; `SIGIL_SKIP_K8S=1` skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
K8S_GO=$ROOT/scripts/k8s
mkdir -p "$TOOLS/bin"
log() { echo "[setup-k8s] $*" >&2; }

STAMP=$(cat "$K8S_GO/go.mod" "$K8S_GO/go.sum" "$K8S_GO"/*.go "$K8S_GO"/etcd/*.go "$0" | sha256sum | cut -c1-16)
if [ -x "$TOOLS/bin/kube-apiserver" ] && [ -x "$TOOLS/bin/etcd" ] &&
  [ "$(cat "$TOOLS/k8s.stamp" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi
start=$(date +%s)
# .tools may be shared by several checkouts: build beside the target, then rename into place, so a reader
# sees the old binary or the new one, never half of one.
tmp_etcd="$TOOLS/bin/.etcd.$$"
tmp_api="$TOOLS/bin/.kube-apiserver.$$"
trap 'rm -f "$tmp_etcd" "$tmp_api"' EXIT
log "building etcd (go.etcd.io/etcd/server/v3, scripts/k8s/etcd)"
(cd "$K8S_GO" && go build -trimpath -o "$tmp_etcd" ./etcd)
log "building kube-apiserver (k8s.io/kubernetes/cmd/kube-apiserver; first build takes minutes)"
# The version the binary reports (and emulates: compatibility versions derive from it) is the pinned module's.
K8S_VERSION=$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$K8S_GO/go.mod")
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ver=k8s.io/component-base/version
(cd "$K8S_GO" && go build -trimpath -o "$tmp_api" \
  -ldflags "-s -w -X $ver.gitVersion=$K8S_VERSION -X $ver.gitMajor=1 -X $ver.gitMinor=$minor -X $ver.gitTreeState=clean" \
  k8s.io/kubernetes/cmd/kube-apiserver)
"$tmp_etcd" --version >/dev/null
"$tmp_api" --version >/dev/null
mv -f "$tmp_etcd" "$TOOLS/bin/etcd"
mv -f "$tmp_api" "$TOOLS/bin/kube-apiserver"
echo "$STAMP" > "$TOOLS/k8s.stamp.$$"
mv -f "$TOOLS/k8s.stamp.$$" "$TOOLS/k8s.stamp"
log "etcd + kube-apiserver built in $(($(date +%s) - start)) s"
