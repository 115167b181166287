# Tessera, production image. Build: docker build -t tessera .   Run: see compose.yaml and the README (Deployment).
# One image for every process role: PROCESS_ROLE=migrate | api | worker (all = development only).

# Build stage: dev dependencies, TypeScript to plain JavaScript (dist/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the built JavaScript, run by node itself (no TypeScript,
# no npm in between: SIGTERM reaches the server, which drains and exits 0).
FROM node:20-bookworm-slim
# V8's heap (README, Benchmarks, vs PostGraphile): a 32 MB semi-space lets a request's short-lived
# objects die young (with 2 MB, a third of the CPU went to scavenges promoting in-flight requests; 32
# takes ~10 % off a request's CPU against 16, for ~35 MB more at the peak), and
# --heap-growing-percent=60 (in CMD: NODE_OPTIONS refuses it) grows the old generation by 1.6x its live
# size after a full collection instead of up to 4x, a soft bound with no out-of-memory cliff: an API
# process under load peaks at ~180-215 MB instead of 260-350 MB. MALLOC_ARENA_MAX=2 stops glibc from
# keeping a malloc arena per thread (V8's background threads).
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=32" \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Read at run time next to dist/: the migrate step applies migrations/, the API loads schema/*.graphql.
COPY migrations ./migrations
COPY schema ./schema
# The app's pools run on a patched postgres.js (vendor/postgres/README.md), imported by relative path.
COPY vendor ./vendor
USER node
EXPOSE 4000
# /readyz: 200 when the database and the job queue answer, 503 while shutting down. Node's fetch: no curl in slim images.
# (PROCESS_ROLE=worker has no listener: compose.yaml disables this check for it.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--heap-growing-percent=60", "dist/main.js"]
