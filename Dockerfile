# Switchboard server image: the production build (dist/) on Node.js 24 LTS, production dependencies only,
# run as the unprivileged `node` user with plain `node dist/main.js` (no npm, npx or tsx in front).
#   docker build -t switchboard .
#   docker run --init -p 3000:3000 -e REDIS_URL=redis://redis-host:6379 \
#     -v "$PWD/my-center.yaml:/etc/switchboard/switchboard.yaml:ro" switchboard
# docker-compose.yml builds this image for its `app` service. The call-center file is not in the image:
# mount it (read-only) at SWITCHBOARD_CONFIG.
#
# Signals: node is PID 1 and src/main.ts handles SIGTERM/SIGINT itself (drain up to 25 s, exit 0; a
# second signal exits at once), so `docker stop` drains; give it more than 25 s (compose:
# stop_grace_period). `--init` (compose: `init: true`) adds tini to reap zombies; the server spawns no
# child processes in a container (REDIS_URL is set), so it is belt and braces.

# 1. Build: all dependencies, compile src/ into dist/ (scripts/build.mjs copies the Lua scripts and static files).
FROM node:24.11.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
RUN npm run build

# 2. Production dependencies only, exactly as locked.
FROM node:24.11.1-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: dist/, production node_modules and package.json (the version in switchboard_build_info).
FROM node:24.11.1-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Files stay owned by root and read-only to the server; it writes nothing inside the image.
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
# GET /health on PORT: 200 while Redis answers.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
