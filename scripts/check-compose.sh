#!/usr/bin/env bash
# Validates docker-compose.yml (both profiles) without a Docker engine: `config` only parses and
# resolves the file. Uses the compose v2 plugin when present, else docker-compose (installed from
# Debian's packages when missing).
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
echo "==> docker-compose.yml valid: $services"
