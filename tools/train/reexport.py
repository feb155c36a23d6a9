"""Re-export a bundle's graphs from the weights inside the bundle itself (no training folder needed):
reads the full graph's initializers (inline or external data) back into a Denoiser, then rewrites
model.onnx, refresh.onnx, step.onnx, weights.bin, dllm.json and parity.json. The tokenizer, the
validation list and the model card are left as they are.

  /usr/bin/python3 tools/train/reexport.py --bundle models/dllm-code-small
"""
import argparse
import json
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from export import write_bundle_graphs
from model import Denoiser, ModelConfig


def load_model_from_bundle(bundle: Path) -> tuple[Denoiser, dict]:
    dllm = json.loads((bundle / "dllm.json").read_text())
    dims = dllm["dimensions"]
    cfg = ModelConfig(vocab_size=dllm["vocab_size"], max_len=dllm["max_length"], d_model=dims["d_model"], n_layers=dims["n_layers"],
                      n_heads=dims["n_heads"], mlp_ratio=dims["mlp_ratio"], conv_kernel=dims["conv_kernel"],
                      suppressed_ids=(dllm["pad_token_id"], dllm["mask_token_id"]))
    model = Denoiser(cfg)
    graph = onnx.load(str(bundle / (dllm.get("graphs", {}).get("full", "model.onnx"))))  # resolves external data beside it
    inits = {i.name.removesuffix("__fp16"): torch.from_numpy(numpy_helper.to_array(i).astype("float32")) for i in graph.graph.initializer}
    want = model.state_dict()
    state = {name: inits[f"model.{name}"] for name in want}  # ExportHead holds the Denoiser as .model
    model.load_state_dict(state)
    meta = {"vocab_size": dllm["vocab_size"], "mask_id": dllm["mask_token_id"], "eos_id": dllm["eos_token_id"], "pad_id": dllm["pad_token_id"]}
    return model.eval(), {"meta": meta, "name": dllm["name"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--weights-dtype", choices=["float32", "float16"], default="float32")
    args = ap.parse_args()
    model, info = load_model_from_bundle(args.bundle)
    before = {p.name: p.stat().st_size for p in args.bundle.iterdir()}
    write_bundle_graphs(model, info["meta"], info["name"], args.bundle, args.weights_dtype)
    after = {p.name: p.stat().st_size for p in args.bundle.iterdir()}
    print(json.dumps({"bundle": str(args.bundle), "params": model.num_params(), "bytes_before": sum(before.values()), "bytes_after": sum(after.values()),
                      "files": after}))


if __name__ == "__main__":
    main()
