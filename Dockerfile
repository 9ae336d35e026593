# syntax=docker/dockerfile:1
# One image, one entry: ROLE=api | worker | all selects what the process runs.

FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lock, dev dependencies included: the build runs the TypeScript 7 compiler (node_modules/typescript-native).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY src ./src
# The runtime stage copies node_modules, so drop the dev dependencies once the build no longer needs them.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:26-slim
ENV NODE_ENV=production PORT=8093 HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/src ./dist/src
COPY --chown=node:node package.json openapi.yaml ./
COPY --chown=node:node deploy/docker/healthcheck.mjs ./healthcheck.mjs
# Numeric (the image's `node` user), so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 8093 9464
# Ready on /health/ready: the API on PORT (under BASE_PATH), a worker (ROLE=worker) on METRICS_PORT. Kubernetes
# ignores HEALTHCHECK and uses the Deployments' probes (deploy/kubernetes).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "healthcheck.mjs"]
# node itself is PID 1: it receives SIGTERM and shuts down gracefully (see src/main.ts).
ENTRYPOINT ["node", "dist/src/main.js"]
