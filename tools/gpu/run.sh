#!/usr/bin/env bash
# The GPU check, run from its pack (tools/gpu/check.sh builds the pack and copies this file into it).
# Needs nothing installed: node, onnxruntime-node, the engine, the model and the Vulkan loader are in
# this folder; the GPU driver comes from the machine.
#
#   ./run.sh [--out DIR] [--model DIR] [--budget-s 540] [--batches 64,32,16,8,4,2,1] [--threads N]
#
# Phases, each its own process with a time limit so a provider that crashes or hangs costs only
# its phase: detect (which GPU providers give a session, and what the others lack), then per
# working GPU provider parity (vs CPU), forward timings and end-to-end tokens/s, then the same
# timings on this machine's CPU. Writes OUT/gpu-check.json (the report) and OUT/run.log.
# OUT defaults to $OUT when set (the device tool's results folder), else ./out.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$HERE/out}
model=$HERE/model/dllm-code-small
budget=540
batches=64,32,16,8,4,2,1
threads=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --budget-s) budget=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ ! -f "$model/model.onnx" ]; then
  echo "run.sh: no model bundle at $model (this pack was built without one: pass --model DIR)" >&2
  exit 2
fi
model=$(cd "$model" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
exec > >(tee -a "$out/run.log") 2>&1
start=$(date +%s)
say() { printf '[run.sh %3ds] %s\n' "$(( $(date +%s) - start ))" "$*"; }

# ---- Vulkan for WebGPU: the packed loader, and the machine's NVIDIA driver (ICD) ----
export LD_LIBRARY_PATH="$HERE/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  std=$(ls /etc/vulkan/icd.d/*nvidia*.json /usr/share/vulkan/icd.d/*nvidia*.json /usr/local/share/vulkan/icd.d/*nvidia*.json 2>/dev/null | head -1)
  if [ -n "$std" ]; then
    say "NVIDIA Vulkan ICD: $std (where the loader looks)"
  else
    # the NVIDIA container runtime may mount the ICD outside the loader's search path
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/nvidia/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; say "NVIDIA Vulkan ICD outside the search path: VK_DRIVER_FILES=$f"; break; fi
    done
  fi
  if [ -z "$std" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
    # no ICD file at all: describe the driver library ourselves if the machine has it
    glx=$( (ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0 /{print $NF; exit}'); ls /usr/local/nvidia/lib64/libGLX_nvidia.so.0 /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 2>/dev/null | head -1)
    glx=$(printf '%s\n' "$glx" | grep -m1 . || true)
    if [ -n "$glx" ]; then
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" > "$work/nvidia_icd.json"
      export VK_DRIVER_FILES=$work/nvidia_icd.json
      say "no NVIDIA Vulkan ICD file; wrote one for $glx"
    else
      say "no NVIDIA Vulkan driver found (no nvidia ICD JSON, no libGLX_nvidia.so.0): WebGPU will find no GPU adapter"
    fi
  fi
fi

# ---- what machine this is ----
say "pack: $HERE; model: $model; out: $out; budget ${budget}s; batches $batches"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv > "$work/nvidia-smi.txt" 2>&1 || true
  cat "$work/nvidia-smi.txt"
else
  echo "nvidia-smi: not found" > "$work/nvidia-smi.txt"
  say "nvidia-smi not found"
fi
say "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-<unset>} VK_DRIVER_FILES=${VK_DRIVER_FILES:-<unset>}"

node=$HERE/node/bin/node
check=("$node" "$HERE/app/gpu-check.js")
export GPU_CHECK_MODEL=$model GPU_CHECK_PROMPTS=$HERE/prompts.json

# run_phase NAME SHARE_S ARGS...: at most SHARE_S seconds (scaled with the budget; the shares fit
# 540 s) and never past the budget; the phase itself stops starting new measurements 25 s before
# its limit, the timeout is the hard stop.
run_phase() {
  local name=$1 share=$(( $2 * budget / 540 )); shift 2
  [ "$share" -lt 30 ] && share=30
  local left=$(( budget - ($(date +%s) - start) - 15 ))
  local limit=$(( share < left ? share : left ))
  if [ "$limit" -lt 20 ]; then
    say "skip $name: budget spent"
    printf '{"phase":"%s","rc":-1,"seconds":0,"timedOut":false,"skipped":"budget spent"}\n' "$name" >> "$work/status.jsonl"
    return
  fi
  local soft=$(( limit > 50 ? limit - 25 : limit / 2 ))
  say "phase $name (limit ${limit}s)"
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "${check[@]}" "$@" --json "$work/$name.json" --budget-s "$soft" --threads "$threads"
  local rc=$?
  local timed=false; { [ $rc -eq 124 ] || [ $rc -eq 137 ]; } && timed=true
  # a phase stopped at its limit keeps what it checkpointed (marked "complete": false)
  printf '{"phase":"%s","rc":%d,"seconds":%d,"timedOut":%s}\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" "$timed" >> "$work/status.jsonl"
  say "phase $name: exit $rc"
}

run_phase detect 90 detect
gpus=""
[ -f "$work/detect.json" ] && gpus=$("$node" -e 'console.log((require(process.argv[1]).usable || []).join(" "))' "$work/detect.json")
if [ -z "$gpus" ]; then
  say "NO GPU PROVIDER WORKS HERE: GPU phases skipped (see detect in the report for what is missing); CPU phases still run"
fi
for p in $gpus; do run_phase "parity-$p" 100 parity --provider "$p"; done
for p in $gpus; do run_phase "forward-$p" 60 forward --provider "$p" --batches "$batches"; done
# on the GPU both with the block cache (the default, what a worker runs) and without
for p in $gpus; do run_phase "e2e-$p" 120 e2e --provider "$p" --batches "$batches" --caches auto,none; done
run_phase forward-cpu 50 forward --provider cpu --batches "$batches"
run_phase e2e-cpu 170 e2e --provider cpu --batches "$batches"

baseline=()
[ -f "$HERE/baseline.json" ] && baseline=(--baseline "$HERE/baseline.json")
"${check[@]}" report --work "$work" --out "$out/gpu-check.json" --manifest "$HERE/MANIFEST.json" --gpu-info "$work/nvidia-smi.txt" "${baseline[@]}"
say "done: $out/gpu-check.json"
rm -rf "$work"
