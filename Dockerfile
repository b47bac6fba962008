# syntax=docker/dockerfile:1

# ---- build: install every dependency, compile TypeScript, then drop the dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app

COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build, and the sources are not here yet. bcrypt loads its
# prebuilt binary at run time without an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json knexfile.ts ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled JS and production dependencies only, as the unprivileged node user ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Owned by root, so the service cannot rewrite its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# Embedded PGlite keeps its files here when DATABASE_URL is unset; mount a volume to keep them.
ENV DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 3000

# The slim image has no curl: Node's built-in fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]

# The start command of package.json and the Procfile, flags and all (docs/operations.md, Performance).
CMD ["node", "--max-semi-space-size=8", "--liftoff-only", "--no-allocation-site-pretenuring", "dist/src/main.js"]
