#!/usr/bin/env bash
# `npm run dev:api`: the API while you edit it. The dashboard is rebuilt by esbuild's watch mode
# (only what changed, in milliseconds) and the API by `nest start --watch` (tsc in watch mode
# recompiles changed files, then restarts the server). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsx apps/web/build.ts --watch &
web=$!
trap 'kill "$web" 2>/dev/null || true' EXIT
node_modules/.bin/nest start api --watch --preserveWatchOutput
