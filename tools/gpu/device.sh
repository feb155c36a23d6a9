#!/usr/bin/env bash
# On the GPU machine (the device tool runs this in the repository root): unpack the carried pack
# and run the GPU check; results go to $OUT (the device tool's results folder).
#   bash tools/gpu/device.sh [run.sh args...]
# Build the pack here first, from the same checkout: tools/gpu/check.sh --no-model
set -euo pipefail
cd "$(dirname "$0")/../.."
tarball=.gpu-pack/dist/dllm-gpu-check.tar.xz
if [ ! -f "$tarball" ]; then
  echo "device.sh: no $tarball: build it with tools/gpu/check.sh --no-model and carry .gpu-pack/dist" >&2
  exit 2
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-pack.XXXXXX")
if command -v xz >/dev/null 2>&1; then
  tar -C "$dir" -xJf "$tarball"
else
  python3 -c 'import sys, tarfile; t = tarfile.open(sys.argv[1]); t.extraction_filter = getattr(tarfile, "fully_trusted_filter", None); t.extractall(sys.argv[2])' "$tarball" "$dir"
fi
pack=$dir/dllm-gpu-check
model=()
# a pack built with --no-model runs the repository's bundle (the device copies the repository)
[ -f "$pack/model/dllm-code-small/model.onnx" ] || model=(--model "$PWD/models/dllm-code-small")
exec "$pack/run.sh" --out "${OUT:-$PWD/gpu-check-out}" "${model[@]}" "$@"
