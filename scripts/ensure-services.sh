#!/usr/bin/env bash
# Makes sure Redis (127.0.0.1:6379) and Postgres (127.0.0.1:5432) are up, installing them from
# Debian packages when missing, and that the database DATABASE_URL names exists (default "dllm",
# the config schema's default, so `npm run migrate` and the services find it). Safe to run repeatedly.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

apt_install() {
  echo "==> apt-get install $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "error: $what did not come up within 30 s" >&2
  exit 1
}

echo "==> Redis on 127.0.0.1:6379"
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi
echo "    $(redis-cli -h 127.0.0.1 -p 6379 ping)"

echo "==> Postgres on 127.0.0.1:5432"
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  if ! dpkg -s postgresql >/dev/null 2>&1; then
    apt_install postgresql
    # A fresh cluster asks local TCP clients for a password; tests connect as postgres without one.
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    as_root sed -Ei 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' \
      "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for Postgres pg_isready -h 127.0.0.1 -p 5432
fi
echo "    $(pg_isready -h 127.0.0.1 -p 5432)"

# The database name: DATABASE_URL's path without a query (this script only serves the local server).
database=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dllm}
database=${database%%\?*}
database=${database##*/}
if ! [[ $database =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "error: database name '$database' (from DATABASE_URL) is not a plain identifier" >&2
  exit 1
fi
if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
  echo "==> creating database $database"
  as_postgres createdb "$database"
fi
echo "    database $database ready"
