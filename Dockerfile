# syntax=docker/dockerfile:1
# xksgate container image. Built and run by `npm run test:container` (podman, on a locally made base image);
# see docs/deployment/containers.md "Containers".
#
#   docker build -t xksgate --build-arg XKSGATE_COMMIT=$(git rev-parse HEAD) .
#   docker run -v /etc/xksgate:/etc/xksgate:ro -v /opt/hsm:/opt/hsm:ro -p 443:8443 xksgate
#
# The last stage, `production`, is what a build without --target gives. The PKCS#11 module is not in it: mount
# the vendor's library and its configuration from the host (above, /opt/hsm, with hsm.modulePath pointing into
# it), or add them in a layer of your own (FROM xksgate, COPY). `--target softhsm` builds the local trial with
# SoftHSM in the image (compose.yaml).
# Node 24 LTS on Debian 13 (glibc 2.41, which the uWebSockets.js build Node 22/24 load needs). Node 20 is past its
# end of life: --build-arg NODE_IMAGE=node:20-bookworm-slim still builds it (docs/deployment/support-matrix.md "Support matrix").
ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
# pkcs11js compiles its addon during npm ci.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 reaps what the proxy's children leave and passes SIGTERM on; the proxy itself handles SIGTERM and
# SIGINT (readiness off, drain, exit 0), so `docker stop` is a graceful stop within its 10 s default when
# shutdown.graceMs + drainMs + lingerMs fit (or give --stop-timeout).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends tini ca-certificates && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 xksgate && useradd --system --uid 10001 --gid xksgate --home-dir /nonexistent --shell /usr/sbin/nologin xksgate
WORKDIR /opt/xksgate
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist/src ./dist/src
COPY --from=build /build/dist/workers ./dist/workers
ARG XKSGATE_COMMIT=unknown
ENV XKSGATE_COMMIT=${XKSGATE_COMMIT} \
    XKSGATE_CONFIG=/etc/xksgate/config.json \
    NODE_ENV=production
USER xksgate
# 8443: the TLS port (publish it as 443; binding 443 inside would need CAP_NET_BIND_SERVICE). 9100: healthPort
# (set healthPort.port 9100 in the config), which the HEALTHCHECK and a load balancer ask. 9464: metrics.
EXPOSE 8443 9100 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/src/main.js", "ready"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/main.js"]

# A local trial: SoftHSM in the image and the embedded default (`npm run dev`'s provisioning) on a volume.
FROM runtime AS softhsm
USER root
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends softhsm2 openssl && rm -rf /var/lib/apt/lists/* \
  && install -d -o xksgate -g xksgate -m 0700 /var/lib/xksgate
USER xksgate
ENV XKSGATE_CONFIG=/var/lib/xksgate/config.json
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/dev/cli.js", "--dir", "/var/lib/xksgate"]

# Last, so that a build without --target gives the production image, not the trial.
FROM runtime AS production
