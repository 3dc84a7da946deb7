# The released image, for every way it runs in a cluster: `sync` (the CronJob, the default command),
# `run` (the Helm chart's Deployment) and `serve` (Knative, OpenFaaS; port 8080 or $PORT). One
# bundled program, no npm install at run time, non-root, fine with a read-only root filesystem.
# scripts/build-image.sh builds the same image without a Docker daemon (test/cluster/deploy/image.test.ts
# holds the two to the same entrypoint, command, user and environment).
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY lib lib
COPY functions functions
# The bundler and every file it imports (esbuild plugins, the client-node subset).
COPY scripts scripts
RUN npx tsx scripts/bundle.ts cli && mkdir compile-cache

FROM gcr.io/distroless/nodejs22-debian12:nonroot
COPY --from=build /src/dist/bundle/cli.mjs /src/dist/bundle/main.mjs /app/
# Node's compile cache of the command and the program, written here by the image's own Node as the
# image's user (the cache is per Node build, architecture and user), so that a container start reads
# compiled code. The two V8 flags make it the same bytes every build; scripts/build-image.sh warms
# it with a whole sync instead of --help.
COPY --from=build --chown=65532:65532 /src/compile-cache /app/compile-cache
USER 65532:65532
ENV NODE_ENV=production
ENV NODE_COMPILE_CACHE=/app/compile-cache
RUN ["/nodejs/bin/node", "--predictable", "--random-seed=1", "/app/cli.mjs", "--help"]
ENTRYPOINT ["/nodejs/bin/node", "/app/cli.mjs"]
CMD ["sync"]
