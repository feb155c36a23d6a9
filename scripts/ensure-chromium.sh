#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the dashboard's browser tests, only when missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "==> chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

echo "==> apt-get install chromium"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root apt-get update -qq
# fonts-dejavu-core: the dashboard's screenshots need a font with real glyphs
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
