#!/usr/bin/env bash
# Packs what a bare GPU machine needs to run the GPU check into one self-contained folder, plus a
# .tar.xz of it (at most 60 MB), then optionally runs it here:
#
#   tools/gpu/check.sh [--dest DIR] [--node PATH] [--no-model] [--cuda-libs DIR] [--baseline FILE]
#                      [--no-archive] [--run [run.sh args...]]
#
#   DIR/build/dllm-gpu-check/     the pack: run.sh, node, app (bundled engine + check), onnxruntime-node,
#                                 model, prompts.json, vulkan (Debian's loader), MANIFEST.json, baseline.json
#   DIR/dist/dllm-gpu-check.tar.xz  the same, compressed (what travels); DIR defaults to .gpu-pack (gitignored)
#
# --no-model leaves the model bundle out (run.sh then needs --model DIR): the device tool copies the
# repository anyway, and the model would otherwise travel twice. --cuda-libs adds onnxruntime-node's
# CUDA provider libraries from DIR (this machine cannot download them). See tools/gpu/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

dest=.gpu-pack
node_bin=$(command -v node)
with_model=1
cuda_libs=""
baseline=""
archive=1
run=0
run_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --dest) dest=$2; shift 2 ;;
    --node) node_bin=$2; shift 2 ;;
    --no-model) with_model=0; shift ;;
    --cuda-libs) cuda_libs=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --no-archive) archive=0; shift ;;
    --run) run=1; shift; run_args=("$@"); break ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$baseline" ]; then
  # a run of this check on the 2-core CPU machine while it was quiet (see tools/gpu/README.md)
  baseline=$(ls -1 bench/results/gpu-check-baseline-2core-*.json 2>/dev/null | sort | tail -1 || true)
fi

name=dllm-gpu-check
pack=$dest/build/$name
step() { printf '==> %s\n' "$*"; }
rm -rf "$pack"
mkdir -p "$pack/app/node_modules" "$pack/node/bin" "$dest/dist"

step "engine and check, bundled (esbuild)"
bundle() {
  npx --no-install esbuild "$1" --bundle --platform=node --target=node20 --format=cjs \
    --external:onnxruntime-node --log-level=warning --outfile="$2"
}
bundle tools/gpu/gpu-check.ts "$pack/app/gpu-check.js"
# the Engine starts its inference thread from engine-thread.js beside the code that loads it
bundle libs/engine/src/engine-thread.ts "$pack/app/engine-thread.js"

step "onnxruntime-node (linux x64 native binding, WebGPU built in)"
ort=node_modules/onnxruntime-node
ort_bin=bin/napi-v6/linux/x64
mkdir -p "$pack/app/$ort/$ort_bin" "$pack/app/node_modules/onnxruntime-common"
cp -r "$ort/package.json" "$ort/dist" "$pack/app/$ort/"
cp "$ort/$ort_bin/libonnxruntime.so.1" "$ort/$ort_bin/onnxruntime_binding.node" "$pack/app/$ort/$ort_bin/"
cp -r node_modules/onnxruntime-common/package.json node_modules/onnxruntime-common/dist "$pack/app/node_modules/onnxruntime-common/"
cuda_note="not packed: onnxruntime-node does not ship its CUDA provider; its install script downloads it from NuGet (Microsoft.ML.OnnxRuntime.Gpu.Linux), which this machine cannot reach. Pack on a machine that ran ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci, or pass --cuda-libs DIR."
for src in "$cuda_libs" "$ort/$ort_bin"; do
  if [ -n "$src" ] && [ -f "$src/libonnxruntime_providers_cuda.so" ]; then
    cp "$src/libonnxruntime_providers_cuda.so" "$src/libonnxruntime_providers_shared.so" "$pack/app/$ort/$ort_bin/"
    cuda_note="packed from $src"
    break
  fi
done
step "CUDA provider: $cuda_note"

step "node: $node_bin ($("$node_bin" --version))"
cp "$node_bin" "$pack/node/bin/node"

step "inputs: prompt set from the model's validation files"
npx --no-install tsx tools/gpu/make-prompts.ts --out "$pack/prompts.json"

if [ "$with_model" = 1 ]; then
  step "model bundle"
  mkdir -p "$pack/model"
  cp -r models/dllm-code-small "$pack/model/"
fi

step "Vulkan loader (Debian packages, unpacked: no root needed there)"
debs=$(mktemp -d)
vulkan_note="not packed"
if (cd "$debs" && apt-get -qq -oAPT::Architecture=amd64 download libvulkan1 libglvnd0 >/dev/null 2>&1); then
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$pack/vulkan"; done
  rm -rf "$pack/vulkan/usr/share/doc"
  vulkan_note=$(cd "$debs" && ls *.deb | tr '\n' ' ')
else
  echo "    apt-get download failed: the pack relies on the machine's own Vulkan loader" >&2
fi
rm -rf "$debs"

if [ -n "$baseline" ] && [ -f "$baseline" ]; then
  step "baseline: $baseline"
  cp "$baseline" "$pack/baseline.json"
fi

cp tools/gpu/run.sh "$pack/run.sh"
chmod +x "$pack/run.sh"

"$node_bin" -e '
const [pack, cuda, vulkan, baseline, withModel] = process.argv.slice(1);
const fs = require("fs"), path = require("path"), cp = require("child_process");
const files = cp.execSync(`cd ${JSON.stringify(pack)} && find . -type f -printf "%s %p\\n"`).toString().trim().split("\n")
  .map((l) => { const [size, ...p] = l.split(" "); return { path: p.join(" ").slice(2), bytes: Number(size) }; })
  .sort((a, b) => b.bytes - a.bytes);
const manifest = {
  builtAt: new Date().toISOString(),
  git: cp.execSync("git rev-parse HEAD").toString().trim(),
  node: cp.execSync(`${JSON.stringify(path.join(pack, "node/bin/node"))} --version`).toString().trim(),
  onnxruntimeNode: require(path.resolve("node_modules/onnxruntime-node/package.json")).version,
  model: withModel === "1" ? "model/dllm-code-small" : "not packed (run.sh --model DIR)",
  cudaProvider: cuda,
  vulkanLoader: vulkan,
  baseline: baseline || null,
  uncompressedBytes: files.reduce((a, f) => a + f.bytes, 0),
  largestFiles: files.slice(0, 8),
};
fs.writeFileSync(path.join(pack, "MANIFEST.json"), JSON.stringify(manifest, null, 2) + "\n");
' "$pack" "$cuda_note" "$vulkan_note" "$(basename "${baseline:-}")" "$with_model"

uncompressed=$(du -sb "$pack" | cut -f1)
step "pack: $pack ($((uncompressed / 1000000)) MB uncompressed)"
if [ "$archive" = 1 ]; then
  tarball=$dest/dist/$name.tar.xz
  tar -C "$dest/build" -cf - "$name" | xz -T2 -6 > "$tarball"
  compressed=$(stat -c %s "$tarball")
  step "archive: $tarball ($((compressed / 1000000)) MB)"
  if [ "$compressed" -gt 60000000 ]; then
    echo "check.sh: the archive is $compressed bytes, over the 60 MB limit" >&2
    exit 1
  fi
fi

if [ "$run" = 1 ]; then
  step "running $pack/run.sh ${run_args[*]}"
  exec "$pack/run.sh" "${run_args[@]}"
fi
