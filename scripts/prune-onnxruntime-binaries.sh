#!/bin/sh
# Keeps only this machine's native binaries of onnxruntime-node (DIR/bin/napi-v6/<os>/<arch>): the npm
# package ships darwin, win32 and linux for x64 and arm64 (about 240 MB more than one platform needs).
# Run by the Dockerfile after `npm ci`; refuses to delete anything when this platform's folder is absent.
#   sh scripts/prune-onnxruntime-binaries.sh DIR     (DIR: node_modules/onnxruntime-node)
set -eu
bin="${1:?usage: prune-onnxruntime-binaries.sh node_modules/onnxruntime-node}/bin/napi-v6"
keep="$(node -p 'process.platform + "/" + process.arch')"
[ -d "$bin/$keep" ] || { echo "no onnxruntime-node binaries for $keep under $bin" >&2; exit 1; }
for d in "$bin"/*/*; do
  [ "$d" = "$bin/$keep" ] || rm -rf "$d"
done
find "$bin" -mindepth 1 -maxdepth 1 -type d -empty -delete
echo "onnxruntime-node: kept $bin/$keep only"
