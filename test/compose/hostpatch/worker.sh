#!/bin/sh
# Test-harness only: scaled workers share the host's network namespace (and hostname), so each claims
# its own health/metrics port (59464..59471) in /claims, a host folder all workers share (mkdir is
# atomic; the claim names the container, which keeps its port across restarts), names itself after
# it, and writes it where the healthcheck reads it.
set -e
id=$(grep -o -m1 'containers/[0-9a-f]\{64\}' /proc/self/mountinfo | cut -d/ -f2)
ports="59464 59465 59466 59467 59468 59469 59470 59471"
run() {
  echo "$1" > /tmp/metrics-port
  WORKER_METRICS_PORT=$1 WORKER_ID="worker-$1" exec node dist/apps/worker/apps/worker/src/main.js
}
for p in $ports; do [ "$(cat "/claims/$p/owner" 2>/dev/null)" = "$id" ] && run "$p"; done
for p in $ports; do
  if mkdir "/claims/$p" 2>/dev/null; then echo "$id" > "/claims/$p/owner"; run "$p"; fi
done
echo "no free metrics port in /claims" >&2; exit 1
