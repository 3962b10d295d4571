# Multi-stage: compile TypeScript with the dev dependencies, ship only dist/ and the runtime dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard (vite build of web/ into dist/web, served at GET /).
COPY web ./web
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The embedded store's directory, owned by the unprivileged user the server runs as.
RUN mkdir -p /data && chown node:node /data
USER node
ENV PORT=8080 HOST=0.0.0.0 DATA_DIR=/data
# The embedded store's memory (docs/performance.md, issue 18 §2): one malloc arena, one V8 background thread and
# 4 MiB semi-spaces for the main thread; all three act only at process start, as in `npm start`.
ENV MALLOC_ARENA_MAX=1
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--v8-pool-size=1", "--max-semi-space-size=4", "dist/cli/index.js", "serve"]
