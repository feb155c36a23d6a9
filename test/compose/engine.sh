# Sourced by test/compose/run.sh: a Docker engine for the test, started only when none is reachable.
# The one it starts is Debian's dockerd with --bridge=none --iptables=false (it creates no bridge and
# no firewall rule on the host: every container of the test uses host networking instead), its exec
# root and socket under $W, and its data root in $ENGINE_DATA, kept between runs like an installed
# engine's (deleting a few GB of layers on every run costs minutes here).

# Debian's CLI (its BuildKit is built in); another `docker` earlier in PATH may need buildx for builds.
engine_cli() {
  mkdir -p "$W/bin"
  if [ -x /usr/bin/docker ]; then ln -sf /usr/bin/docker "$W/bin/docker"; export PATH="$W/bin:$PATH"; fi
}

engine_start() {
  ENGINE_STARTED=
  if docker info >/dev/null 2>&1; then
    echo "==> using the running Docker engine ($(docker version -f '{{.Server.Version}}'))"
    return
  fi
  command -v dockerd >/dev/null || { echo "no Docker engine: apt-get install docker.io" >&2; return 1; }
  export DOCKER_HOST="unix://$W/docker.sock"
  mkdir -p "$ENGINE_DATA" "$W/exec"
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
    --data-root="$ENGINE_DATA" --exec-root="$W/exec" --pidfile="$W/dockerd.pid" -H "$DOCKER_HOST" \
    >"$W/dockerd.log" 2>&1 &
  ENGINE_STARTED=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! kill -0 "$ENGINE_STARTED" 2>/dev/null || ! docker info >/dev/null 2>&1; then
    tail -20 "$W/dockerd.log" >&2; ENGINE_STARTED=; return 1
  fi
  echo "==> started dockerd $(docker version -f '{{.Server.Version}}') (pid $ENGINE_STARTED, no bridge, no iptables) at $DOCKER_HOST"
}

# Stops the engine this test started (by its pid; its managed containerd exits with it), unmounts
# what it left mounted under $W.
engine_stop() {
  [ -n "${ENGINE_STARTED:-}" ] || return 0
  kill "$ENGINE_STARTED" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 "$ENGINE_STARTED" 2>/dev/null || break; sleep 1; done
  kill -0 "$ENGINE_STARTED" 2>/dev/null && kill -9 "$ENGINE_STARTED"
  grep -F " $W/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  ENGINE_STARTED=
  echo "==> stopped the engine this test started"
}
