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
# Memory under load (README, Benchmarks, vs PostGraphile): --max-semi-space-size=2 (MB) keeps V8's young
# generation small, MALLOC_ARENA_MAX=2 stops glibc from keeping a malloc arena per thread (V8's
# background threads); an API process then peaks at ~180-255 MB instead of 260-290 MB, with no CPU
# cost per request measurable on the benchmark machine.
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=2" \
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
CMD ["node", "dist/main.js"]
