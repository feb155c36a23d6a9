"""The two checkpoints of bench:twin: a Dream-layout masked-diffusion model and its autoregressive
parent (Qwen2.5-Coder layout, causal), with the SAME dimensions and the SAME weights (random, seeded
per tensor name; both use the Qwen2 tensor names), each imported with `npm run import` (fp32).
Only the topology and the decoding differ, so their speeds compare the decoders, not the models.

usage: twin_checkpoints.py OUT_DIR [--hidden 256 --layers 4 --heads 4 --kv-heads 2 --mlp 1024 --max-length 512]
writes OUT_DIR/dream-twin and OUT_DIR/qwen2-twin (bundles), prints their paths as JSON.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import sys
from contextlib import redirect_stderr

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "import"))
sys.path.insert(0, os.path.join(REPO, "tools", "import", "tests"))

import importlib  # noqa: E402

from families import NAME_MAPS, read_config, spec_from_config  # noqa: E402
from st_write import write_sharded  # noqa: E402

importer = importlib.import_module("import")
FIXTURES = os.path.join(REPO, "tools", "import", "fixtures", "hf")
QWEN = os.path.join(FIXTURES, "Qwen__Qwen2.5-Coder-0.5B-Instruct")
TWINS = {"dream-twin": os.path.join(FIXTURES, "Dream-org__Dream-v0-Instruct-7B"), "qwen2-twin": QWEN}
TOKENIZER_META = ("tokenizer_config.json", "generation_config.json", "special_tokens_map.json", "added_tokens.json",
                  "chat_template.jinja")


# Qwen2.5's embedding has 151936 rows for 151665 tokens (151643 BPE + 22 added): the rest are padding
# rows a trained model never ranks first. Random weights would, and the engine cannot decode such an
# id, so these rows are zero here (logit 0, below the top of ~151k random logits: greedy skips them).
TOKENS = 151665


def weights(spec) -> dict:
    out = {}
    for canon, name in NAME_MAPS[spec.family](spec).items():
        shape = spec.canonical_shape(canon)
        rng = np.random.default_rng(int(hashlib.sha256(canon.encode()).hexdigest()[:8], 16))
        if canon.endswith("norm"):
            out[name] = (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            out[name] = (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)
        if canon in ("embed", "lm_head"):
            out[name][TOKENS:] = 0
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--mlp", type=int, default=1024)
    ap.add_argument("--max-length", type=int, default=512)
    a = ap.parse_args()
    paths, names = {}, None
    for bundle, fixture in TWINS.items():
        src = os.path.join(a.out, "hf-" + bundle)
        os.makedirs(src, exist_ok=True)
        config = read_config(fixture)
        config.update({"hidden_size": a.hidden, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
                       "num_key_value_heads": a.kv_heads, "intermediate_size": a.mlp, "vocab_size": 151936,
                       "tie_word_embeddings": False, "layer_types": ["full_attention"] * a.layers})
        spec, _ = spec_from_config(config)
        tensors = weights(spec)
        if names is None:
            names = sorted(tensors)
        assert sorted(tensors) == names, "the twins must share every tensor name"
        with open(os.path.join(src, "config.json"), "w") as f:
            json.dump(config, f)
        write_sharded(src, tensors, 2, "BF16")
        for f in TOKENIZER_META:
            if os.path.isfile(os.path.join(fixture, f)):
                shutil.copy(os.path.join(fixture, f), src)
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(QWEN, f), src)
        out = os.path.join(a.out, bundle)
        err = io.StringIO()
        with redirect_stderr(err):
            code = importer.main(["--from", src, "--out", out, "--max-length", str(a.max_length), "--no-parity", "--force"])
        if code != 0:
            raise SystemExit(err.getvalue())
        shutil.rmtree(src)
        paths[bundle] = out
    print(json.dumps(paths))


if __name__ == "__main__":
    main()
