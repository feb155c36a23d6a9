"""MODEL_CARD.md of an imported bundle: where it came from, what it is, how it was converted, and
the parity figures measured at import (or a plain statement that none were)."""
import json
import os
import re
from typing import Optional

import numpy as np

from spec import ModelSpec


def license_of(hf_dir: str, config: dict) -> str:
    """The `license:` field of README.md's YAML front matter, else config.json's, else unknown."""
    readme = os.path.join(hf_dir, "README.md")
    if os.path.isfile(readme):
        with open(readme, encoding="utf-8", errors="replace") as f:
            text = f.read(20_000)
        front = re.match(r"---\s*\n(.*?)\n---", text, re.S)
        if front:
            m = re.search(r"^license:\s*(.+)$", front.group(1), re.M)
            if m:
                return f"{m.group(1).strip()} (README.md front matter)"
    if config.get("license"):
        return f"{config['license']} (config.json)"
    return "not stated in the folder (check the model's page before use)"


def _size(path: str) -> int:
    return os.path.getsize(path) if os.path.isfile(path) else 0


def _gib(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.2f} GiB"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def write_model_card(out_dir: str, hf_dir: str, spec: ModelSpec, weights, dllm: dict, dtype: str, tokenizer_how: str,
                     template_source: str, parity: Optional[dict], build_s: float) -> None:
    config = weights.config
    params = sum(int(np.prod(spec.canonical_shape(n))) for n in spec.canonical_names())
    files = sorted(f for f in os.listdir(out_dir) if os.path.isfile(os.path.join(out_dir, f)))
    d = dllm["defaults"]
    lines = [
        f"# {dllm['name']}",
        "",
        f"Imported by `npm run import` from `{os.path.abspath(hf_dir)}`"
        + (f" (`{config['_name_or_path']}`)" if config.get("_name_or_path") else "") + ".",
        "",
        "| | |", "|---|---|",
        f"| family | {weights.variant.label} (`{'/'.join(config.get('architectures') or [])}`, model_type `{config.get('model_type')}`) |",
        f"| kind | {spec.kind} |",
        f"| attention | {spec.attention}" + (f", block {spec.block_size}" if spec.block_size else "") + " |",
        f"| logits shifted | {'yes: the output at p predicts p + 1' if spec.shift_logits else 'no: the output at p predicts p'} |",
        f"| license | {license_of(hf_dir, config)} |",
        f"| parameters | {params:,} ({spec.n_layers} layers, d {spec.d_model}, {spec.n_heads} query / {spec.n_kv_heads} key-value heads,"
        f" head {spec.head_dim}, MLP {spec.mlp_hidden}, vocab {spec.vocab_size}"
        + (", QKV bias" if spec.qkv_bias else "") + (", QK-norm" if spec.qk_norm else "")
        + (", tied head" if spec.tied_embeddings else "") + ") |",
        f"| RoPE theta / RMS eps | {spec.rope_theta:g} / {spec.rms_eps:g} |",
        f"| checkpoint | {_gib(weights.total_bytes())} of {', '.join(weights.stored_dtypes())} safetensors |",
        f"| bundle weights | {dtype} ({dllm.get('weights_dtype')}), {_gib(sum(_size(os.path.join(out_dir, f)) for f in files))} in all |",
        f"| max length | {spec.max_length} (trained context {dllm['source'].get('trained_max_length')}) |",
        f"| special ids | mask {dllm['mask_token_id']}, eos {dllm['eos_token_id']} (stops at {dllm['eos_token_ids']}),"
        f" pad {dllm['pad_token_id']}, bos {dllm['bos_token_id']} |",
        f"| tokenizer | {tokenizer_how} |",
        f"| chat template | {dllm['chat_template'] or 'none'} (from {template_source}) |",
        f"| defaults | gen_length {d.get('gen_length')}, block_length {d.get('block_length')}, policy {d.get('policy')}"
        + (f", threshold {d['threshold']}" if "threshold" in d else "") + " |",
        f"| import time | {build_s:.1f} s for graph + weights |",
        "",
        "Special ids came from: " + "; ".join(f"{k}: {v}" for k, v in dllm["source"]["special_tokens"].items()) + ".",
    ]
    if weights.ignored:
        lines += ["", "Checkpoint tensors not imported, and why:"]
        lines += [f"- `{n}`: {why}" for n, why in sorted(weights.ignored.items())]
    lines += ["", "## Parity at import", ""]
    if parity is None:
        lines.append("Not measured at import (`--no-parity`). Nothing on this card claims the graph matches the checkpoint.")
    else:
        lines.append(parity.get("summary", ""))
        lines += ["", "```json", json.dumps(parity, indent=2), "```"]
    lines += ["", "## Files", ""] + [f"- `{f}` ({_gib(_size(os.path.join(out_dir, f)))})" for f in files]
    with open(os.path.join(out_dir, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
