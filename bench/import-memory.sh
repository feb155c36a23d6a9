#!/usr/bin/env bash
# Peak memory of `npm run import` at the LLaDA-8B shape (the largest fixture): a full-size SPARSE
# checkpoint made from the real config + index (the data reads as zeros, takes no disk), imported
# with /usr/bin/time -v. Prints and writes bench/results/import-memory-llada8b-<dtype>.json, then
# deletes the checkpoint and the bundle. Parity is skipped (--no-parity): on zero weights it says
# nothing, and it runs in a separate onnxruntime-node process.
#   DTYPE=int4|fp16|fp32 (default int4; fp16 writes a 16 GB bundle, fp32 32 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
dtype="${DTYPE:-int4}"
need_gb=$([ "$dtype" = int4 ] && echo 8 || { [ "$dtype" = fp16 ] && echo 18 || echo 34; })
free_gb=$(df -BG --output=avail /tmp | tail -1 | tr -dc 0-9)
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "import-memory: /tmp has ${free_gb} GB free, the $dtype bundle needs about ${need_gb} GB" >&2
  exit 1
fi
work=$(mktemp -d /tmp/import-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tools/import/sparse_checkpoint.py tools/import/fixtures/hf/GSAI-ML__LLaDA-8B-Instruct \
  "$work/hf" --placeholder-tokenizer >/dev/null
/usr/bin/time -v -o "$work/time.txt" /usr/bin/python3 tools/import/import.py \
  --from "$work/hf" --out "$work/bundle" --dtype "$dtype" --no-parity
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
bundle_bytes=$(du -sb "$work/bundle" | cut -f1)
mkdir -p bench/results
out="bench/results/import-memory-llada8b-$dtype.json"
cat >"$out" <<JSON
{
  "benchmark": "import-memory",
  "checkpoint": "GSAI-ML/LLaDA-8B-Instruct shape (real config.json + index, sparse zero-filled bf16 shards, 16031162368 bytes)",
  "command": "DTYPE=$dtype npm run bench:import-memory",
  "dtype": "$dtype",
  "peak_rss_kib": $rss_kb,
  "peak_rss_gib": $(awk -v k="$rss_kb" 'BEGIN { printf "%.2f", k / 1048576 }'),
  "target_gib": 20,
  "wall_clock": "$wall",
  "bundle_bytes": $bundle_bytes,
  "parity": "skipped (--no-parity)",
  "machine": "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), shared with other work",
  "measured_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
JSON
cat "$out"
