#!/usr/bin/env bash
# npm run test:compose: builds the images from the project's Dockerfile and docker-compose.yml, runs
# the stack with 3 workers and test/compose/scenario.ts against it (a worker killed and one stopped
# mid-batch, every item ended exactly once, the OpenAI SDK round trip), then tears it all down.
# Root, Debian packages (docker.io, docker-compose, debootstrap: installed when missing). Uses a running
# engine if one answers, else starts its own (no bridge, no iptables) and stops it at the end. Every
# container uses host networking on ports 55432, 56379, 58080, 59464-59471 of 127.0.0.1, never the
# machine's shared Postgres 5432 / Redis 6379.
#   DLLM_COMPOSE_CACHE=/var/cache/dllm-compose   stand-in base images and the started engine's data
#   root, kept between runs (rm -rf it to reclaim the space); every run's image build is cold (--no-cache)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "test:compose runs as root (it may start a Docker engine)" >&2; exit 1; }
HERE=test/compose
CACHE=${DLLM_COMPOSE_CACHE:-/var/cache/dllm-compose}
PROJECT=dllmcompose
T0=$(date +%s)

missing=()
for p in docker.io:dockerd docker-compose:docker-compose debootstrap:debootstrap; do
  command -v "${p#*:}" >/dev/null || missing+=("${p%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (Debian packages)"
  apt-get update -qq
  # policy-rc.d-style guard: the package must not start a default daemon (bridge, iptables rules)
  RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# one run at a time: the ports are fixed
exec 9>/tmp/dllm-compose-test.lock
flock 9
for port in 55432 56379 58080 $(seq 59464 59471); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is taken: the compose test needs it" >&2; exit 1
  fi
done

W=$(mktemp -d /tmp/dllm-compose.XXXXXX)
ENGINE_DATA="$CACHE/engine"
COMPOSE_TEST_CLAIMS="$W/claims"   # hostpatch/worker.sh: each worker's port claim
mkdir -m 1777 "$COMPOSE_TEST_CLAIMS"
export W ENGINE_DATA COMPOSE_TEST_CLAIMS
# shellcheck source=engine.sh
source "$HERE/engine.sh"
# shellcheck source=base-images.sh
source "$HERE/base-images.sh"

compose_files=(-f docker-compose.yml -f "$HERE/hostnet.yml")
cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  if [ -f "$W/compose.yml" ] || [ -n "${BUILT:-}" ]; then
    echo "==> tearing the stack down"
    "${compose[@]}" -p "$PROJECT" -f "${RUN_FILE:-docker-compose.yml}" down -v --remove-orphans -t 40 >/dev/null 2>&1
  fi
  docker image prune -f >/dev/null 2>&1   # the previous run's image, untagged by this one
  engine_stop
  rm -rf "$W"
  # nothing of ours may outlive the test: no engine process, no bridge, no firewall rule
  local left
  left=$(ps -eo pid,args | grep -F "$W" | grep -v grep || true)
  [ -z "$left" ] || { echo "left behind: $left" >&2; rc=1; }
  if ip -br link 2>/dev/null | grep -qE '^(docker0|br-|veth)'; then echo "left behind: a bridge" >&2; rc=1; fi
  if command -v iptables >/dev/null && iptables -S 2>/dev/null | grep -qi docker; then
    echo "left behind: DOCKER iptables rules" >&2; rc=1
  fi
  echo "==> test:compose took $(($(date +%s) - T0)) s (rc $rc)"
  exit $rc
}
trap cleanup EXIT

engine_cli
engine_start
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
echo "==> compose: $("${compose[@]}" version --short 2>/dev/null || "${compose[@]}" version | head -1)"
# BuildKit for compose v1 too (it hands builds to the docker CLI)
export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1

base_images
[ -z "$STANDINS" ] || compose_files+=(-f "$HERE/standins.yml")

echo "==> building the image, cold (--no-cache: no layer of an earlier build is reused)"
docker builder prune -f --filter until=24h >/dev/null   # bounds the cache that the cold builds leave
B0=$(date +%s)
BUILT=1
"${compose[@]}" -p "$PROJECT" "${compose_files[@]}" build --no-cache worker
BUILD_SECONDS=$(($(date +%s) - B0))
size=$(docker image inspect -f '{{.Size}}' dllm-batch:latest)
echo "==> build: ${BUILD_SECONDS} s; image dllm-batch:latest $((size / 1000000)) MB (api, worker and migrate run it)"
echo "==> NOTE: the gpu target (worker-gpu) was not built: its base, nvidia/cuda, comes from a registry" \
  "and needs the NVIDIA container toolkit to run; scripts/check-compose.sh checks its definition only"

# compose v1 refuses `ports` with host networking and cannot drop a list from an override: write the
# resolved file once without the api's published port (the api listens on 127.0.0.1:58080 directly)
"${compose[@]}" -p "$PROJECT" "${compose_files[@]}" config \
  | python3 -c 'import sys,yaml; d=yaml.safe_load(sys.stdin); d["services"]["api"].pop("ports",None); yaml.safe_dump(d,sys.stdout,sort_keys=False)' \
  >"$W/compose.yml"
RUN_FILE="$W/compose.yml"
C=("${compose[@]}" -p "$PROJECT" --project-directory "$PWD" -f "$RUN_FILE")

echo "==> up --scale worker=3"
if ! "${C[@]}" up -d --no-build --scale worker=3; then "${C[@]}" ps; "${C[@]}" logs --tail 30; exit 1; fi
healthy() {   # healthy containers of one service
  docker ps --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" \
    --filter health=healthy -q | wc -l
}
stack_up() { [ "$(healthy api)" -eq 1 ] && [ "$(healthy worker)" -eq 3 ]; }
for _ in $(seq 120); do stack_up && break; sleep 2; done
if ! stack_up; then "${C[@]}" ps; "${C[@]}" logs --tail 30; exit 1; fi
echo "==> api and 3 workers healthy after $(($(date +%s) - B0 - BUILD_SECONDS)) s"

if ! npx tsx "$HERE/scenario.ts"; then "${C[@]}" ps; "${C[@]}" logs --tail 40 worker api; exit 1; fi
echo "==> build seconds: $BUILD_SECONDS"
