# One image for every role: api, worker and migrate differ only by command (see docker-compose.yml).
#   docker build -t dllm-batch .                   CPU image (onnxruntime-node's bundled CPU provider)
#   docker build --target gpu -t dllm-batch:gpu .  CUDA 12 + cuDNN 9 image: onnxruntime-node's CUDA provider
#                                                  and the Vulkan loader for its bundled WebGPU provider
# Node 24 is the current LTS (Node 20 reached end of life in April 2026); the code also runs on Node 20.
# No `# syntax=` line: the builder's own Dockerfile frontend is enough, and naming one makes BuildKit pull it.
ARG NODE_IMAGE=node:24-bookworm-slim

# One `npm ci` for both the build and the runtime's production dependencies (a second one would fetch
# and unpack the ~290 MB onnxruntime-node package again); layers from the lockfile up, sources last.
# Only this platform's onnxruntime-node binaries are kept (the package ships darwin, win32 and
# linux/arm64 too: ~240 MB that no stage needs).
FROM ${NODE_IMAGE} AS deps
# onnxruntime-node's postinstall fetches CUDA libraries from outside the npm registry; the CPU stages skip it
# (an environment setting: npm warns that the checkout's .npmrc form will stop working).
ENV ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/lockfile-tarball-urls.cjs scripts/prune-onnxruntime-binaries.sh scripts/prune-dev-dependencies.sh scripts/
RUN node scripts/lockfile-tarball-urls.cjs package-lock.json "$(npm config get registry)" \
 && npm ci --no-audit --no-fund && npm cache clean --force \
 && sh scripts/prune-onnxruntime-binaries.sh node_modules/onnxruntime-node

FROM deps AS build
COPY tsconfig.json nest-cli.json ./
COPY apps apps
COPY libs libs
RUN npx nest build api && npx nest build worker && npx tsx apps/web/build.ts

# Production dependencies only (no tsx, TypeScript, esbuild: the images run the compiled build).
FROM deps AS prod-deps
RUN sh scripts/prune-dev-dependencies.sh

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production MODEL_DIR=/app/models/dllm-code-small
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY models models
USER node
CMD ["node", "dist/apps/api/apps/api/src/main.js"]

FROM ${NODE_IMAGE} AS node
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
# WebGPU (Dawn) needs the Vulkan loader; the NVIDIA Vulkan driver (nvidia_icd.json, libGLX_nvidia.so.0)
# comes from the host, which the NVIDIA container runtime mounts only with the graphics capability.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvulkan1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
# ONNXRUNTIME_NODE_INSTALL=cuda12: the install script fetches the CUDA 12 provider.
# A GPU worker that cannot use its GPU fails to start (ENGINE_REQUIRE_GPU) instead of crawling on the CPU.
ENV ONNXRUNTIME_NODE_INSTALL=cuda12 NODE_ENV=production MODEL_DIR=/app/models/dllm-code-small \
    ENGINE_EXECUTION_PROVIDERS=cuda,webgpu,cpu ENGINE_REQUIRE_GPU=true
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/lockfile-tarball-urls.cjs scripts/prune-onnxruntime-binaries.sh scripts/
RUN node scripts/lockfile-tarball-urls.cjs package-lock.json "$(npm config get registry)" \
 && npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && sh scripts/prune-onnxruntime-binaries.sh node_modules/onnxruntime-node
# Fail the build, not a worker at run time, when the CUDA provider or a library it links is missing
# (a missing cuDNN would otherwise only surface as a worker that cannot use its GPU).
COPY tools/gpu/check-cuda-provider.sh tools/gpu/
RUN bash tools/gpu/check-cuda-provider.sh node_modules/onnxruntime-node/bin/napi-v6/linux/x64
COPY --from=build /app/dist dist
COPY models models
# the image's `node` user (uid 1000) comes from the Node image; Ubuntu's base has none
RUN (getent passwd 1000 >/dev/null && userdel -r "$(getent passwd 1000 | cut -d: -f1)" || true) \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
USER node
CMD ["node", "dist/apps/worker/apps/worker/src/main.js"]
