"""Export trained weights to an ONNX model bundle: graphs (graphs.py), dllm.json and a parity fixture.

Full graph inputs: input_ids int64 [B,L], attention_mask int64 [B,L] (B and L dynamic, L <= max_length).
Full graph outputs: logits float32 [B,L,V], top_ids int64 [B,L,K], top_probs float32 [B,L,K], entropy float32 [B,L].
The cached-decoding graphs (refresh.onnx, step.onnx) are described in cache_heads.py.
"""
import argparse
import json
import shutil
from pathlib import Path

import torch

from graphs import TOP_K, write_graphs
from model import Denoiser, ExportHead, ModelConfig


def load_model(train_dir: Path) -> Denoiser:
    cfg_json = json.loads((train_dir / "config.json").read_text())["model"]
    cfg_json["suppressed_ids"] = tuple(cfg_json["suppressed_ids"])
    model = Denoiser(ModelConfig(**cfg_json))
    state = {}
    for shard in sorted(train_dir.glob("weights-*.pt")):
        state.update(torch.load(shard, map_location="cpu"))
    model.load_state_dict(state)
    return model.eval()


def parity_fixture(head: ExportHead, meta: dict) -> dict:
    """Fixed inputs and PyTorch's outputs for them, incl. a padded row and a fully padded row."""
    gen = torch.Generator().manual_seed(7)
    L = 24
    ids = torch.randint(3, meta["vocab_size"], (3, L), generator=gen)
    ids[:, 10:16] = meta["mask_id"]
    attn = torch.ones_like(ids)
    attn[1, 18:] = 0
    ids[1, 18:] = meta["pad_id"]
    attn[2, :] = 0
    ids[2, :] = meta["pad_id"]
    with torch.no_grad():
        logits, top_ids, top_probs, entropy = head(ids, attn)
    return {
        "input_ids": ids.tolist(),
        "attention_mask": attn.tolist(),
        "top_ids": top_ids.tolist(),
        "top_probs": top_probs.tolist(),
        "entropy": entropy.tolist(),
        "logits_first_row_pos_10": logits[0, 10].tolist(),
    }


def dllm_json(model: Denoiser, meta: dict, name: str, graphs: dict) -> dict:
    c = model.config
    return {
        "format_version": 2,
        "name": name,
        "kind": "masked-diffusion",
        "architecture": "bidirectional transformer denoiser (masked diffusion, no time conditioning)",
        "vocab_size": c.vocab_size,
        "max_length": c.max_len,
        "mask_token_id": meta["mask_id"],
        "eos_token_id": meta["eos_id"],
        "pad_token_id": meta["pad_id"],
        "shift_logits": False,
        "inputs": {"input_ids": "int64 [batch, length] token ids", "attention_mask": "int64 [batch, length] 1 = real token, 0 = padding"},
        "outputs": {
            "logits": "float32 [batch, length, vocab] unnormalised scores (pad and mask suppressed)",
            "top_ids": f"int64 [batch, length, {TOP_K}] the {TOP_K} most probable token ids, most probable first",
            "top_probs": f"float32 [batch, length, {TOP_K}] softmax probabilities of top_ids (temperature 1)",
            "entropy": "float32 [batch, length] entropy of the softmax distribution in nats",
        },
        "top_k": TOP_K,
        **graphs,
        # what benchmarks need to count FLOPs per forward
        "dimensions": {k: getattr(c, k) for k in ("d_model", "n_layers", "n_heads", "mlp_ratio", "conv_kernel")},
    }


def write_bundle_graphs(model: Denoiser, meta: dict, name: str, bundle: Path, weights_dtype: str = "float32") -> None:
    """Graphs, weights, dllm.json and the parity fixture: everything of a bundle that depends on the weights."""
    bundle.mkdir(parents=True, exist_ok=True)
    if weights_dtype == "float16":  # the parity fixture must describe the weights as stored
        model = model.half().float()
    graphs = write_graphs(model, bundle, weights_dtype)
    (bundle / "dllm.json").write_text(json.dumps(dllm_json(model, meta, name, graphs), indent=2) + "\n")
    (bundle / "parity.json").write_text(json.dumps(parity_fixture(ExportHead(model, TOP_K).eval(), meta)))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train-dir", type=Path, required=True, help="output folder of train.py")
    ap.add_argument("--data", type=Path, required=True, help="folder with meta.json from encode_corpus.ts")
    ap.add_argument("--tokenizer", type=Path, required=True)
    ap.add_argument("--bundle", type=Path, required=True, help="bundle folder to write")
    ap.add_argument("--name", default="dllm-code-small")
    ap.add_argument("--files", type=Path, required=True, help="file lists from list_files.py (the validation list goes in the bundle)")
    ap.add_argument("--weights-dtype", choices=["float32", "float16"], default="float32",
                    help="storage of the weights (float16 halves the bundle; onnxruntime computes in float32 either way)")
    args = ap.parse_args()
    meta = json.loads((args.data / "meta.json").read_text())
    model = load_model(args.train_dir)
    write_bundle_graphs(model, meta, args.name, args.bundle, args.weights_dtype)
    shutil.copyfile(args.tokenizer, args.bundle / "tokenizer.json")
    files = json.loads(args.files.read_text())
    root = Path(files["root"])
    validation = {"root": str(root), "sha256": files["val_sha256"], "files": [str(Path(f).relative_to(root)) for f in files["val"]]}
    (args.bundle / "validation_files.json").write_text(json.dumps(validation, indent=1) + "\n")
    size = sum(f.stat().st_size for f in args.bundle.iterdir())
    print(json.dumps({"bundle": str(args.bundle), "bytes": size, "params": model.num_params()}))


if __name__ == "__main__":
    main()
