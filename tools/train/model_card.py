"""Write MODEL_CARD.md from what training, export and evaluation measured (no number typed by hand)."""
import argparse
import json
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--train-dir", type=Path, required=True)
ap.add_argument("--files", type=Path, required=True)
ap.add_argument("--data", type=Path, required=True)
ap.add_argument("--eval", type=Path, required=True)
ap.add_argument("--bundle", type=Path, required=True)
args = ap.parse_args()

summary = json.loads((args.train_dir / "train_summary.json").read_text())
cfg = json.loads((args.train_dir / "config.json").read_text())
files = json.loads(args.files.read_text())
meta = json.loads((args.data / "meta.json").read_text())
ev = json.loads(args.eval.read_text())
dllm = json.loads((args.bundle / "dllm.json").read_text())
m, t = cfg["model"], cfg["train"]
bundle_mb = sum(f.stat().st_size for f in args.bundle.iterdir() if f.name != "MODEL_CARD.md") / 1e6

acc_rows = "\n".join(
    f"| {r['mask_ratio']} | {r['masked_tokens']} | **{r['model'] * 100:.1f}%** | {r['most_frequent_token'] * 100:.1f}% | {r['neighbour_count'] * 100:.1f}% |"
    for r in ev["accuracy"]
)
curve = "\n".join(f"| {r['step']} | {r['minutes']} | {r['loss']} | {r['val_acc_0.15'] * 100:.1f}% |" for r in summary["log"])
ctx = ev["context"]
card = f"""# {dllm['name']}

A small masked-diffusion language model for Python code, trained from scratch by `tools/train`
(`npm run train`). It exists so that dllm-batch works out of the box on a CPU with no download; it
writes plausible-looking Python fragments, not correct programs.

## Data
- Corpus: the Python {files['root'].split('python')[-1]} standard-library sources installed by Debian's packages
  {', '.join(files['packages'])} (`.py` files under `{files['root']}`, from the packages' file lists, sorted by path).
- Split by file (sha256 of the relative path mod 100 < {files['validation_percent']}): {len(files['train'])} train files,
  {len(files['val'])} validation files (never trained on).
- File-list hashes (sha256 over `path sha256(content)` lines): train `{files['train_sha256']}`,
  validation `{files['val_sha256']}`.
- Tokens: {meta['train_tokens']:,} train ({meta['train_bytes']:,} bytes), {meta['val_tokens']:,} validation.

## Tokenizer
Byte-level BPE trained by `tools/train/tokenizer_train.py` on the train split: {meta['vocab_size']} ids
(`<|pad|>`={meta['pad_id']}, `<|endoftext|>`={meta['eos_id']}, `<|mask|>`={meta['mask_id']}, 256 byte symbols, merges).
Encode then decode is the identity for any string (see `libs/engine/src/tokenizer`).

## Architecture
Bidirectional transformer denoiser with no time conditioning (as MDLM and LLaDA): {m['n_layers']} blocks of width
{m['d_model']}, {m['n_heads']} heads, rotary positions in hand-written attention, a depthwise convolution
(kernel {m['conv_kernel']}) for local mixing, GELU MLP x{m['mlp_ratio']}, pre-LayerNorm, tied input/output embedding.
{summary['params']:,} parameters; max length {m['max_len']} tokens (prompt + canvas). Bundle size {bundle_mb:.1f} MB.

## Training
Masked-diffusion objective: t ~ U(1e-3, 1) per row (stratified across the batch), each token masked with
probability t, cross-entropy on masked tokens weighted by 1/t. For the first {float(t['curriculum_frac']) * 100:.0f}% of steps a
curriculum raises the largest mask ratio from 0.35 to 1 and blends from an unweighted loss to the 1/t
weighting; after that the objective is exactly the one above. {float(t['pad_frac']) * 100:.0f}% of rows are right-padded
to a random length so padding is handled. AdamW (lr {t['lr']}, cosine, warm-up {t['warmup']}), batch {t['batch']} x {t['seq_len']},
seed {t['seed']}.

- Steps: {summary['steps']} (planned {summary.get('planned_steps', summary['steps'])}{', stopped early by --max-minutes' if summary.get('stopped_early') else ''})
- Hardware: {summary['device_name']} ({summary['device']}), PyTorch {summary['torch']}; {summary['minutes']} minutes.

Learning curve (validation masked-token accuracy at mask ratio 0.15 on 128 fixed windows):

| step | minutes | train loss | val acc @0.15 |
|---|---|---|---|
{curve}

## Validation accuracy
{ev['windows']} validation windows of {ev['window_length']} tokens; the same random masks for the model and both
baselines. Baselines are counted on the train split: most-frequent token, and the neighbour count
((previous, next) -> most frequent middle token over visible neighbours, backing off to one neighbour, then
to the most frequent token).

| mask ratio | masked tokens | model | most-frequent token | neighbour count |
|---|---|---|---|---|
{acc_rows}

Context check: masking the left neighbour of a masked position moves the model's predicted distribution
there by a mean total variation of {ctx['mean_total_variation']} and changes the top token in
{ctx['argmax_changed_fraction'] * 100:.0f}% of {ctx['positions']} positions.

## Files
- `model.onnx`: inputs `input_ids`, `attention_mask` (int64 [B, L], L <= {m['max_len']}); outputs
  {', '.join(f'`{k}`' for k in dllm['outputs'])} (see `dllm.json`).
- `refresh.onnx`, `step.onnx`: the graphs of cached block decoding (`tools/train/cache_heads.py`): refresh runs the
  whole sequence and returns the active block's head plus every layer's keys/values and the convolution halo;
  step runs only the block against that cache. All three graphs read their weights from `weights.bin`
  (ONNX external data), so the bundle carries them once.
- `tokenizer.json`: Hugging Face tokenizers format.
- `dllm.json`: special token ids, max length, graph outputs.
- `validation_files.json`: the held-out files (relative to the stdlib folder), the default data of `npm run eval`.
- `parity.json`: fixed inputs and PyTorch's outputs, checked against onnxruntime-node by the test suite.

## Reproduce
`npm run train` (see README). Fixed seeds; the same command runs on CPU or CUDA.
"""
(args.bundle / "MODEL_CARD.md").write_text(card)
print(f"wrote {args.bundle / 'MODEL_CARD.md'}")
