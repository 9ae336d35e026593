# syntax=docker/dockerfile:1
# One image, one entry: ROLE=api | worker | all selects what the process runs.

FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install with the lock, not npm ci: the lock lacks msgpackr-extract's other-platform builds (see .ci/run).
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:26-slim
ENV NODE_ENV=production PORT=8093 HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/src ./dist/src
COPY --chown=node:node package.json openapi.yaml ./
USER node
EXPOSE 8093
# node itself is PID 1: it receives SIGTERM and shuts down gracefully (see src/main.ts).
ENTRYPOINT ["node", "dist/src/main.js"]
