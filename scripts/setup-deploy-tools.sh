#!/usr/bin/env bash
# Installs what the deployment tests (test/deploy) and scripts/build-image.sh need:
#   mmdebstrap : makes the image's base root filesystems from Debian packages (no base image can be pulled)
#   buildah    : builds the Dockerfile daemonless (--isolation chroot, vfs storage under .tools/image)
#   kustomize  : renders deploy/ (base, overlays, istio) exactly as `kubectl apply -k` does; Go module, pinned
# mmdebstrap and buildah are Debian packages (apt-get, as root); kustomize goes to .tools/bin.
# Idempotent: a second run only checks versions. Called by scripts/setup-tools.sh and scripts/build-image.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=$PWD/.tools
mkdir -p "$TOOLS/bin"
KUSTOMIZE_VERSION=v5.7.1

log() { echo "[setup-deploy-tools] $*" >&2; }

missing=()
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
# setpriv and unshare (util-linux) run the unpacked image as its non-root user in the image test.
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "ERROR: ${missing[*]} missing and not root: install them with apt-get (Debian bookworm or later)"
    exit 1
  fi
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Another checkout may be installing at the same time: wait for dpkg's lock instead of failing.
  apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
fi

# Output captured first: `cmd | grep -q` can fail under pipefail when grep exits early.
if [ "$("$TOOLS/bin/kustomize" version 2>/dev/null || true)" != "$KUSTOMIZE_VERSION" ]; then
  log "installing kustomize $KUSTOMIZE_VERSION (go install)"
  GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
