#!/usr/bin/env bash
# Fails (exit 1) unless onnxruntime-node's CUDA provider is installed in DIR and every library it
# links resolves. Run by the Dockerfile's gpu target at build time: a missing cuDNN would otherwise
# surface only at run time, as a worker that cannot use its GPU. The NVIDIA driver's own libraries
# (libcuda.so.1, libnvidia-*) are exempt: the container runtime mounts them from the host at run time.
#   tools/gpu/check-cuda-provider.sh [DIR]   (default: node_modules/onnxruntime-node/bin/napi-v6/linux/x64)
set -euo pipefail
dir=${1:-node_modules/onnxruntime-node/bin/napi-v6/linux/x64}
for lib in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
  if [ ! -f "$dir/$lib" ]; then
    echo "missing $dir/$lib: the CUDA provider is not installed (ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci fetches it)" >&2
    exit 1
  fi
done
out=$(ldd "$dir/libonnxruntime_providers_cuda.so") || { echo "ldd failed on $dir/libonnxruntime_providers_cuda.so" >&2; exit 1; }
missing=$(printf '%s\n' "$out" | grep 'not found' | grep -v -E '^[[:space:]]*(libcuda\.so\.1|libnvidia-[^[:space:]]+)[[:space:]]' || true)
if [ -n "$missing" ]; then
  echo "the CUDA provider's dependencies do not resolve:" >&2
  printf '%s\n' "$missing" >&2
  exit 1
fi
echo "==> CUDA provider and its dependencies resolve ($dir/libonnxruntime_providers_cuda.so)"
