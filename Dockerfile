# syntax=docker/dockerfile:1
# One image for every role: api, worker and migrate differ only by command (see docker-compose.yml).
#   docker build -t dllm-batch .                 CPU image (onnxruntime-node's bundled CPU provider)
#   docker build --target gpu -t dllm-batch:gpu .  CUDA 12 + cuDNN image; onnxruntime-node installs its CUDA provider
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json nest-cli.json ./
COPY apps apps
COPY libs libs
RUN npx nest build api && npx nest build worker && npx tsx apps/web/build.ts

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production MODEL_DIR=/app/models/dllm-code-small
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist dist
COPY models models
USER node
CMD ["node", "dist/apps/api/apps/api/src/main.js"]

FROM ${NODE_IMAGE} AS node
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
# The environment variable wins over .npmrc's skip: the install script fetches the CUDA 12 provider.
ENV ONNXRUNTIME_NODE_INSTALL=cuda12 NODE_ENV=production MODEL_DIR=/app/models/dllm-code-small ENGINE_EXECUTION_PROVIDERS=cuda,cpu
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist dist
COPY models models
CMD ["node", "dist/apps/worker/apps/worker/src/main.js"]
