#!/usr/bin/env bash
# Rebuilds a model bundle from scratch with fixed seeds: tokenizer -> corpus ids -> training -> ONNX
# export -> evaluation -> model card -> parity check in onnxruntime-node.
#   tools/train/build_bundle.sh                 full recipe into models/dllm-code-small
#   PRESET=smoke tools/train/build_bundle.sh    tiny configuration, a few steps (CI), into $WORK/smoke-bundle
#   PRESET=cpu tools/train/build_bundle.sh      the recipe cut to ~2 hours of a 2-core CPU, into $WORK/bundle
# SKIP_TRAIN=1 reuses weights already in $WORK/train (trained elsewhere with the same train.py).
# Extra arguments go to train.py (e.g. --device cpu, --max-minutes 100).
# Training resumes from $WORK/train/ckpt.pt when one exists; delete $WORK to start over.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}  # Debian's python3 carries python3-torch and python3-onnx
PRESET=${PRESET:-full}
if [ "$PRESET" = smoke ]; then
  WORK=${WORK:-tools/train/work/smoke}
  rm -rf "$WORK"  # a smoke run always starts from nothing
  BUNDLE=${BUNDLE:-$WORK/smoke-bundle}
  TOK_ARGS=(--vocab-size 512 --max-files 20)
  FILE_ARGS=(--max-files 20)
  TRAIN_ARGS=(--steps 6 --batch 4 --seq-len 64 --d-model 32 --n-layers 1 --n-heads 2 --eval-every 3 --ckpt-every 3 --warmup 2)
  EVAL_ARGS=(--windows 8)
elif [ "$PRESET" = cpu ]; then
  # fits about 2 hours on a 2-core CPU (~2.5 s a step); a weaker model than the bundled one
  WORK=${WORK:-tools/train/work/cpu}
  BUNDLE=${BUNDLE:-$WORK/bundle}
  TOK_ARGS=()
  FILE_ARGS=()
  TRAIN_ARGS=(--steps 2800 --batch 16 --warmup 200 --eval-every 200 --ckpt-every 200)
  EVAL_ARGS=()
else
  WORK=${WORK:-tools/train/work/full}
  BUNDLE=${BUNDLE:-models/dllm-code-small}
  TOK_ARGS=()
  FILE_ARGS=()
  TRAIN_ARGS=()
  EVAL_ARGS=()
fi
"$PY" -c "import torch, onnx" 2>/dev/null || { echo "missing python3-torch/python3-onnx: run scripts/ensure-python-deps.sh" >&2; exit 1; }
mkdir -p "$WORK"
step() { echo "== $*" >&2; }
step "tokenizer";   "$PY" tools/train/tokenizer_train.py --out "$WORK/tokenizer.json" "${TOK_ARGS[@]}"
step "file lists";  "$PY" tools/train/list_files.py --out "$WORK/files.json" "${FILE_ARGS[@]}"
step "encode";      npx tsx tools/train/encode_corpus.ts --files "$WORK/files.json" --tokenizer "$WORK/tokenizer.json" --out "$WORK/data"
if [ "${SKIP_TRAIN:-0}" = 1 ]; then
  step "train: skipped, using weights already in $WORK/train (e.g. trained on a GPU machine with the same train.py)"
  test -f "$WORK/train/train_summary.json" || { echo "SKIP_TRAIN=1 but $WORK/train/train_summary.json is missing" >&2; exit 1; }
else
  step "train";     "$PY" tools/train/train.py --data "$WORK/data" --out "$WORK/train" "${TRAIN_ARGS[@]}" "$@"
fi
step "export";      "$PY" tools/train/export.py --train-dir "$WORK/train" --data "$WORK/data" --tokenizer "$WORK/tokenizer.json" --files "$WORK/files.json" --bundle "$BUNDLE"
step "evaluate";    "$PY" tools/train/evaluate.py --train-dir "$WORK/train" --data "$WORK/data" --out "$WORK/eval.json" "${EVAL_ARGS[@]}"
step "model card";  "$PY" tools/train/model_card.py --train-dir "$WORK/train" --files "$WORK/files.json" --data "$WORK/data" --eval "$WORK/eval.json" --bundle "$BUNDLE"
step "parity";      DLLM_BUNDLE="$BUNDLE" npx jest libs/engine/src/runtime/bundle-parity.spec.ts --selectProjects unit
echo "bundle ready: $BUNDLE" >&2
