# syntax=docker/dockerfile:1
#
# Lucid Gateway: the CLI with its production dependencies on a distroless Node 24 runtime.
#
#   docker build -t lucid-gateway .                          # this machine's platform
#   scripts/build-image.sh ghcr.io/acme/lucid-gateway --push  # linux/amd64 + linux/arm64 (Raspberry Pi)
#
#   docker run -p 8080:8080 -e JWT_SECRET_KEY=... lucid-gateway            # the embedded default config
#   docker run -p 8080:8080 -v ./gateway.yaml:/etc/lucid-gateway/lucid-gateway.config.yaml:ro lucid-gateway
#
# See docs/deploying.md.

ARG NODE_MAJOR=24
# Keep in step with "packageManager" in package.json (test/container checks it).
ARG PNPM_VERSION=10.34.8

# ---------------------------------------------------------------------------------------------------
# builder: install with the lockfile, build, and write the production-only bundle to /out.
# The bundle is plain JavaScript (scripts/bundle.sh refuses native addons), so it is built once, on the
# build machine's own architecture and without emulation, and copied into every platform's runtime.
FROM --platform=$BUILDPLATFORM node:${NODE_MAJOR}-bookworm-slim AS builder
ARG PNPM_VERSION
ENV CI=true
RUN npm install --global --no-audit --no-fund "pnpm@${PNPM_VERSION}"
WORKDIR /src

# Every package the lockfile names, fetched into the store: this layer is reused until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch

COPY . .
RUN pnpm install --frozen-lockfile --offline \
 && bash scripts/bundle.sh /out \
 && mkdir -p /data/acme

# ---------------------------------------------------------------------------------------------------
# runtime: no shell, no package manager, no curl; node is /nodejs/bin/node.
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Lucid Gateway" \
      org.opencontainers.image.description="API gateway for the Lucid services: routing, JWT auth, rate limits, health and metrics" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# Two malloc arenas rather than eight per core: less resident memory, the main thread doing the work.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2
# Owned by root and read-only to the gateway's user: the process cannot change its own code.
COPY --from=builder --chown=0:0 /out /app

# The CLI looks for lucid-gateway.config.yaml (or .json, .js, .ts, ...) in its working directory:
# mount one here, or pass "start --config FILE". With none, it serves the embedded default configured
# by environment variables (JWT_SECRET_KEY, AUTH_SERVICE_URL, ...).
# The :nonroot base already says USER 65532, and WORKDIR creates its folder as the current user: as root
# here, so the gateway cannot write its own config folder.
USER 0:0
# server.tls.acme's storage (account key, certificates, the lock of instances that share it): the one
# folder the gateway writes, owned by its user, in a /data that stays root's (WORKDIR makes it as root).
# Mount a volume here so certificates survive a new container (and a read-only root filesystem), and
# set `storage: /data/acme`.
WORKDIR /data
COPY --from=builder --chown=65532:65532 /data/acme /data/acme
VOLUME ["/data/acme"]
WORKDIR /etc/lucid-gateway
# 65532 is distroless's "nonroot"; numeric, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# 8080: the gateway's port, or with server.tls.acme the plain port (httpPort: 8080: ACME http-01,
# /health/live, redirects); 8443: HTTPS (server.port: 8443). A router forwards 80 and 443 to them.
EXPOSE 8080 8443

# Liveness with node itself (the image has no curl). PORT moves the gateway and this check together;
# HEALTHCHECK_URL overrides the URL when the config moves the port or the health path. With
# server.tls the plain request fails the handshake and the check asks over HTTPS (its own loopback:
# the certificate names the public host, so it is not verified here).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "const p=process.env.PORT||8080,u=process.env.HEALTHCHECK_URL,signal=AbortSignal.timeout(4000),get=(url,o)=>new Promise((ok,no)=>require(url.startsWith('https:')?'https':'http').get(url,{...o,signal},(r)=>{r.resume();ok(r.statusCode)}).on('error',no)),live='127.0.0.1:'+p+'/health/live';(u?get(u):get('http://'+live).catch(()=>get('https://'+live,{rejectUnauthorized:false}))).then((c)=>process.exit(c===200?0:1),()=>process.exit(1))"]

# node is PID 1 (no init in the image): the CLI handles SIGTERM itself, drains in-flight requests
# (server.timeouts.shutdown) and exits 0. Give "docker stop -t" / terminationGracePeriodSeconds more than that.
STOPSIGNAL SIGTERM
# "--" ends Node's own options, so the CLI's --env-file is the CLI's. The young generation's size is the CLI's
# own (packages/cli/src/run/v8-flags.ts); under `docker run -m` the CLI adds a heap cap derived from the limit
# by replacing its process in place (node stays PID 1).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "--", "/app/dist/bin.js"]
CMD ["start"]
