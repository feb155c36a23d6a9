#!/usr/bin/env bash
# Validates docker-compose.yml (both profiles) without a Docker engine: `config` only parses and
# resolves the file; then checks what the GPU worker and the Dockerfile's gpu target must keep.
# Uses the compose v2 plugin when present, else docker-compose (installed from Debian's packages
# when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  if ! command -v docker-compose >/dev/null 2>&1; then
    echo "==> installing docker-compose (Debian package) to validate docker-compose.yml"
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  fi
  compose=(docker-compose)
fi
"${compose[@]}" config -q
services=$("${compose[@]}" --profile gpu config --services | sort | tr '\n' ' ')
for s in api migrate postgres redis worker worker-gpu; do
  [[ " $services " == *" $s "* ]] || { echo "docker-compose.yml lacks service $s" >&2; exit 1; }
done
# The GPU worker: the graphics driver capability (WebGPU's Vulkan driver), and no silent CPU fallback.
gpu=$("${compose[@]}" --profile gpu config | sed -n '/^  worker-gpu:/,/^  [a-z]/p')
for want in 'NVIDIA_DRIVER_CAPABILITIES: compute,utility,graphics' 'ENGINE_REQUIRE_GPU: "true"' 'target: gpu' '- graphics'; do
  grep -qF -- "$want" <<<"$gpu" || { echo "docker-compose.yml: worker-gpu lacks '$want'" >&2; exit 1; }
done
# The Dockerfile: a Node LTS base, and a gpu target that checks its CUDA provider and ships the Vulkan loader.
grep -qE '^ARG NODE_IMAGE=node:(22|24)-' Dockerfile || { echo "Dockerfile: NODE_IMAGE is not a Node 22/24 LTS image" >&2; exit 1; }
gpu_stage=$(sed -n '/ AS gpu$/,$p' Dockerfile)
for want in 'RUN bash tools/gpu/check-cuda-provider.sh' 'libvulkan1' 'NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics'; do
  grep -qF -- "$want" <<<"$gpu_stage" || { echo "Dockerfile: the gpu target lacks '$want'" >&2; exit 1; }
done
# Defects found by building and running the stack (issue 19); each came back once already.
! grep -q '^# *syntax=' Dockerfile || { echo "Dockerfile: a '# syntax=' line makes BuildKit pull a frontend image" >&2; exit 1; }
! grep -qE '^COPY .*\.npmrc' Dockerfile || { echo "Dockerfile: set ONNXRUNTIME_NODE_INSTALL, do not copy .npmrc" >&2; exit 1; }
for want in 'USER node' 'npx-cli.js /usr/local/bin/npx'; do
  grep -qF -- "$want" <<<"$gpu_stage" || { echo "Dockerfile: the gpu target lacks '$want'" >&2; exit 1; }
done
runtime_stage=$(sed -n '/ AS runtime$/,/^FROM /p' Dockerfile)
cpu_stages=$(sed -n '1,/ AS runtime$/p' Dockerfile)
grep -qF 'prune-onnxruntime-binaries.sh node_modules/onnxruntime-node' <<<"$cpu_stages" \
  || { echo "Dockerfile: the CPU image keeps every platform's onnxruntime-node binaries" >&2; exit 1; }
grep -qF 'RUN sh scripts/prune-dev-dependencies.sh' <<<"$(sed -n '/ AS prod-deps$/,/^FROM /p' Dockerfile)" \
  || { echo "Dockerfile: the CPU image keeps the devDependencies" >&2; exit 1; }
grep -q 'USER node' <<<"$runtime_stage" || { echo "Dockerfile: the runtime stage runs as root" >&2; exit 1; }
resolved=$(env -u API_BIND -u WORKER_METRICS_PORT "${compose[@]}" --profile gpu config)
for svc in worker worker-gpu; do
  grep -qF 'process.env.WORKER_METRICS_PORT' <<<"$(sed -n "/^  $svc:/,/^  [a-z]/p" <<<"$resolved")" \
    || { echo "docker-compose.yml: the $svc healthcheck ignores WORKER_METRICS_PORT" >&2; exit 1; }
done
grep -qE '127\.0\.0\.1:?.*8080' <<<"$(sed -n '/^  api:/,/^  [a-z]/p' <<<"$resolved")" \
  || { echo "docker-compose.yml: the api is not published on loopback only by default" >&2; exit 1; }
echo "==> docker-compose.yml valid: $services"
