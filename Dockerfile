# SIGIL sidecar image. Runs `sigil serve`: ext_authz gRPC on 9191, admin (metrics, readiness, dashboard) on 9190,
# issuer HTTP/gRPC on 9180/9181 — all on loopback by default, which is what a sidecar sharing the pod's network
# namespace with Envoy needs. Mount a volume at /var/lib/sigil for keys and the audit ledger.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# patches/: applied by the postinstall step (patch-package); see patches/README.md.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY dashboard ./dashboard
COPY proto ./proto
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production SIGIL_DATA=/var/lib/sigil
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY proto ./proto
COPY envoy ./envoy
COPY policy ./policy
RUN mkdir -p /var/lib/sigil && chown node:node /var/lib/sigil
USER node
VOLUME ["/var/lib/sigil"]
EXPOSE 9191 9190 9180 9181
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:9190/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
