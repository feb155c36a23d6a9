"""Write a Denoiser's ONNX graphs into a bundle: the full graph (model.onnx) and the cached-decoding
pair (refresh.onnx, step.onnx), all three reading their weights from ONE shared file (weights.bin,
ONNX external data), so the bundle carries the weights once.

Also checks, in PyTorch, that the cached graphs agree with the full one before anything is written.
"""
import io
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import external_data_helper, numpy_helper

from cache_heads import RefreshHead, StepHead
from model import Denoiser, ExportHead

TOP_K = 8
WEIGHTS_FILE = "weights.bin"
INLINE_BELOW_BYTES = 4096  # tiny constants stay inside each graph


def _export(module: torch.nn.Module, args: tuple, inputs: list[str], outputs: list[str], dynamic: dict) -> onnx.ModelProto:
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, args, buf, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=14,
                          do_constant_folding=False)  # folding would store a transposed copy of the tied embedding
    return onnx.load_from_string(buf.getvalue())


def _store_fp16(graphs: dict[str, onnx.ModelProto]) -> None:
    """fp16 storage, fp32 compute: each big fp32 initializer becomes an fp16 one plus a Cast that
    onnxruntime folds once at session start, so the forward runs exactly the fp32 graph (half the file)."""
    for g in graphs.values():
        casts = []
        for init in g.graph.initializer:
            a = numpy_helper.to_array(init)
            if a.dtype != np.float32 or a.nbytes < INLINE_BELOW_BYTES:
                continue
            name = init.name
            half = numpy_helper.from_array(a.astype(np.float16), f"{name}__fp16")
            init.CopyFrom(half)  # in place: `init` now is the fp16 tensor
            casts.append(onnx.helper.make_node("Cast", [half.name], [name], to=onnx.TensorProto.FLOAT, name=f"{name}__cast"))
        nodes = casts + list(g.graph.node)
        del g.graph.node[:]
        g.graph.node.extend(nodes)


def _share_weights(graphs: dict[str, onnx.ModelProto], bundle: Path) -> None:
    """Moves every initializer of INLINE_BELOW_BYTES or more into weights.bin, once per name."""
    table: dict[str, tuple[int, int, bytes]] = {}
    with open(bundle / WEIGHTS_FILE, "wb") as f:
        for g in graphs.values():
            for init in g.graph.initializer:
                data = numpy_helper.to_array(init).tobytes()
                if len(data) < INLINE_BELOW_BYTES:
                    continue
                if init.name in table:
                    if table[init.name][2] != data:
                        raise ValueError(f"initializer {init.name} differs between graphs")
                    continue
                f.write(b"\0" * (-f.tell() % 64))  # aligned, so the runtime may map it
                table[init.name] = (f.tell(), len(data), data)
                f.write(data)
    for g in graphs.values():
        for init in g.graph.initializer:
            if init.name in table:
                offset, length, _ = table[init.name]
                external_data_helper.set_external_data(init, WEIGHTS_FILE, offset=offset, length=length)
                init.data_location = onnx.TensorProto.EXTERNAL
                init.ClearField("raw_data")


def _check_cache_graphs(model: Denoiser, full: ExportHead, refresh: RefreshHead, step: StepHead) -> dict:
    """Refresh's head equals the full graph's; step with a fresh cache equals refresh (dual and prefix)."""
    c, r = model.config, model.config.conv_kernel // 2
    gen = torch.Generator().manual_seed(11)
    L, s, e = 40, 16, 24  # a block [s, e) inside the sequence
    ids = torch.randint(3, c.vocab_size, (2, L), generator=gen)
    attn = torch.ones_like(ids)
    attn[1, 34:] = 0  # a shorter second row
    block = torch.arange(s, e).expand(2, -1)
    halo = torch.tensor([s - 2, s - 1, e, e + 1]).expand(2, -1)
    with torch.no_grad():
        _, f_ids, f_probs, _ = full(ids, attn)
        r_ids, r_probs, _, keys, values, halos = refresh(ids, attn, block, halo)
        diffs = {"refresh_vs_full": float((r_probs - f_probs[:, s:e]).abs().max())}
        # dual: the block against every other position
        past_mask = attn.clone()
        past_mask[:, s:e] = 0
        per_layer = lambda t, n: [t[:, i, :, :n] for i in range(c.n_layers)]  # noqa: E731
        _, d_probs, _ = step(ids[:, s:e], block, torch.ones_like(block), past_mask, halos, *per_layer(keys, L), *per_layer(values, L))
        diffs["step_dual_vs_refresh"] = float((d_probs - r_probs).abs().max())
        # prefix: the block and everything after it, against the prefix only; no right halo
        span = torch.arange(s, L).expand(2, -1)
        p_halo = halos.clone()
        p_halo[:, :, r:] = 0
        _, p_probs, _ = step(ids[:, s:], span, attn[:, s:], attn[:, :s], p_halo, *per_layer(keys, s), *per_layer(values, s))
        diffs["step_prefix_vs_refresh"] = float((p_probs[:, : e - s] - r_probs).abs().max())
    for name, d in diffs.items():
        if d > 1e-4:
            raise AssertionError(f"cached graphs disagree with the full graph: {name} max |dp| = {d}")
    return diffs


def write_graphs(model: Denoiser, bundle: Path, weights_dtype: str = "float32") -> dict:
    """Writes model.onnx, refresh.onnx, step.onnx and weights.bin; returns what dllm.json says of them.
    weights_dtype "float16" stores the weights in half precision (computed in fp32; see _store_fp16)."""
    model = model.eval()
    c, r = model.config, model.config.conv_kernel // 2
    hd = c.d_model // c.n_heads
    full, refresh, step = ExportHead(model, TOP_K).eval(), RefreshHead(model, TOP_K).eval(), StepHead(model, TOP_K).eval()
    checks = _check_cache_graphs(model, full, refresh, step)
    B, L = 2, 16
    mask_ids = torch.full((B, L), 2)
    ones = torch.ones(B, L, dtype=torch.long)
    pos = torch.arange(4, 8).expand(B, -1)
    halo_pos = torch.tensor([2, 3, 8, 9]).expand(B, -1)
    bl = {0: "batch", 1: "length"}
    past_names = [f"past_keys_{i}" for i in range(c.n_layers)] + [f"past_values_{i}" for i in range(c.n_layers)]
    graphs = {
        "model.onnx": _export(full, (mask_ids, ones), ["input_ids", "attention_mask"], ["logits", "top_ids", "top_probs", "entropy"],
                              {n: bl for n in ["input_ids", "attention_mask", "logits", "top_ids", "top_probs", "entropy"]}),
        "refresh.onnx": _export(
            refresh, (mask_ids, ones, pos, halo_pos),
            ["input_ids", "attention_mask", "head_positions", "halo_positions"],
            ["top_ids", "top_probs", "entropy", "keys", "values", "halo"],
            {"input_ids": bl, "attention_mask": bl, "head_positions": {0: "batch", 1: "head"}, "halo_positions": {0: "batch"},
             "top_ids": {0: "batch", 1: "head"}, "top_probs": {0: "batch", 1: "head"}, "entropy": {0: "batch", 1: "head"},
             "keys": {0: "batch", 3: "length"}, "values": {0: "batch", 3: "length"}, "halo": {0: "batch"}}),
        "step.onnx": _export(
            step, (mask_ids[:, :4], pos, ones[:, :4], ones, torch.zeros(B, c.n_layers, 2 * r, c.d_model),
                   *[torch.zeros(B, c.n_heads, L, hd) for _ in range(2 * c.n_layers)]),
            ["input_ids", "positions", "query_mask", "past_mask", "halo", *past_names],
            ["top_ids", "top_probs", "entropy"],
            {"input_ids": {0: "batch", 1: "span"}, "positions": {0: "batch", 1: "span"}, "query_mask": {0: "batch", 1: "span"},
             "past_mask": {0: "batch", 1: "cached"}, "halo": {0: "batch"}, **{n: {0: "batch", 2: "cached"} for n in past_names},
             "top_ids": {0: "batch", 1: "span"}, "top_probs": {0: "batch", 1: "span"}, "entropy": {0: "batch", 1: "span"}}),
    }
    bundle.mkdir(parents=True, exist_ok=True)
    if weights_dtype == "float16":
        _store_fp16(graphs)
    elif weights_dtype != "float32":
        raise ValueError(f"weights_dtype: float32 or float16, not {weights_dtype}")
    _share_weights(graphs, bundle)
    for name, g in graphs.items():
        (bundle / name).write_bytes(g.SerializeToString())
    return {
        "graphs": {"full": "model.onnx", "refresh": "refresh.onnx", "step": "step.onnx"},
        "weights": WEIGHTS_FILE,
        "weights_dtype": weights_dtype,
        "cache": {
            "layers": c.n_layers,
            "heads": c.n_heads,
            "head_dim": hd,
            "d_model": c.d_model,
            "halo": r,
            "keys": "refresh: float32 [batch, layer, head, position, head_dim], after the rotary embedding; step: past_keys_<layer> [batch, head, cached, head_dim]",
            "halo_layout": "float32 [batch, layer, 2 * halo, d_model]: convolution inputs left then right of the span",
            "export_check_max_abs_prob_diff": checks,
        },
    }
