# The CLI as a container, for the CronJob (deploy/overlays/cronjob): one bundled file, no npm
# install at run time, non-root, fine with a read-only root filesystem.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY lib lib
COPY functions functions
COPY scripts/bundle.ts scripts/bundle.ts
RUN npx tsx scripts/bundle.ts cli

FROM gcr.io/distroless/nodejs20-debian12:nonroot
COPY --from=build /src/dist/bundle/cli.mjs /app/cli.mjs
USER 65532:65532
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "/app/cli.mjs"]
CMD ["sync"]
