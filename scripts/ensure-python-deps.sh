#!/usr/bin/env bash
# Installs the Debian packages the model trainer (tools/train) and the importer's tests (tools/import: python3-regex runs the slow Qwen2 tokenizer reference), only when missing.
set -euo pipefail

packages=(python3-torch python3-onnx libopenblas0-pthread python3-numpy python3-regex)

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> Python deps present: ${packages[*]}"
  exit 0
fi

echo "==> apt-get install ${missing[*]}"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
