# The released image, for every way it runs in a cluster: `sync` (the CronJob, the default command),
# `run` (the Helm chart's Deployment) and `serve` (Knative, OpenFaaS; port 8080 or $PORT). One
# bundled file, no npm install at run time, non-root, fine with a read-only root filesystem.
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
RUN npx tsx scripts/bundle.ts cli

FROM gcr.io/distroless/nodejs22-debian12:nonroot
COPY --from=build /src/dist/bundle/cli.mjs /app/cli.mjs
USER 65532:65532
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "/app/cli.mjs"]
CMD ["sync"]
