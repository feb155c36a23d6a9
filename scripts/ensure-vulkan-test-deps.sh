#!/usr/bin/env bash
# Test-only: the Vulkan loader and Mesa's Vulkan drivers (lavapipe, a software driver), so the
# engine's WebGPU selection, fallback and error paths run for real on a machine without a GPU:
# Dawn loads Vulkan, finds no adapter it accepts ("No supported adapters") and the engine must say
# why and fall back (or fail with ENGINE_REQUIRE_GPU). Not needed to run the product.
set -euo pipefail

packages=(libvulkan1 mesa-vulkan-drivers)

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> Vulkan test deps present: ${packages[*]}"
  exit 0
fi

echo "==> apt-get install ${missing[*]}"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
