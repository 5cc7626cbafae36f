# Switchboard server image. Runs the TypeScript sources with tsx (a runtime dependency), like `npm start`.
#   docker build -t switchboard .
#   docker run -p 3000:3000 -e REDIS_URL=redis://redis-host:6379 switchboard
# docker-compose.yml builds this image for its `app` service.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app

# Dependencies first, exactly as locked, so the layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY src ./src
COPY config ./config
COPY tsconfig.json ./

# REDIS_URL must point at a Redis: in a container there is no local redis-server to fall back on.
USER node
EXPOSE 3000
# Twilio webhooks and GET /metrics, GET /health on PORT (3000).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["npx", "tsx", "src/main.ts"]
