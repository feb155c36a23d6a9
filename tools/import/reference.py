"""Reference forward passes in PyTorch, one per checkpoint layout, written from the published
architectures (LLaDA's modeling_llada.py LLaDALlamaBlock; transformers' Qwen2 / Qwen3 decoder layers,
which Dream, Fast-dLLM v2 and SDAR reuse) and reading each checkpoint's OWN tensor names.

It shares nothing with the importer (families.py name maps, safetensors_reader.py, graph_builder.py):
it reads the shards with its own few lines, picks names from config.json itself, and computes in
float64. So agreement between it and the imported ONNX graph is independent evidence that the name
map, the transposes, the RoPE convention, the head grouping and the masks are right.

Topology and padding are inputs: attention from query position p_q to key position p_k (key slot k
real, i.e. key_mask[k] = 1) is allowed for
    bidirectional: always;  causal: p_k <= p_q;  block-causal: p_k // block <= p_q // block.
The output at slot q is the model's own logit row at that position (no shift applied here).

Cached calls (the graph contract of spec.py, written here again from its text): a span may attend to
a past of per-layer keys/values (keys after RoPE), each cached slot allowed iff past_mask = 1 whatever
its position; `return_kv` hands back the span's own keys/values in that form, so a reference refresh
feeds a reference step exactly as the engine feeds the graph.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Optional

import numpy as np
import torch

ST_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}


def load_hf_tensors(hf_dir: str) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors checkpoint (sharded or not) by its own name, as float64."""
    index = os.path.join(hf_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out: dict[str, torch.Tensor] = {}
    for name in files:
        with open(os.path.join(hf_dir, name), "rb") as f:
            blob = f.read()
        (n,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + n])
        base = 8 + n
        for key, t in header.items():
            if key == "__metadata__":
                continue
            b, e = t["data_offsets"]
            raw = bytearray(blob[base + b:base + e])
            out[key] = torch.frombuffer(raw, dtype=ST_DTYPES[t["dtype"]]).reshape(t["shape"]).to(torch.float64)
    return out


def _rms(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def _rope(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """x [B, heads, L, hd]; rotate-half RoPE, angles computed in float32 as the modeling code does."""
    hd = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = positions.to(torch.float32)[:, None, :, None] * inv_freq  # [B, 1, L, hd/2]
    ang = torch.cat([ang, ang], -1)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def allowed_mask(positions: torch.Tensor, key_mask: torch.Tensor, topology: str, block: Optional[int]) -> torch.Tensor:
    """bool [B, L, L]: may query slot q attend to key slot k."""
    pq, pk = positions[:, :, None], positions[:, None, :]
    if topology == "bidirectional":
        top = torch.ones_like(pq * pk, dtype=torch.bool)
    elif topology == "causal":
        top = pk <= pq
    elif topology == "block-causal":
        top = torch.div(pk, block, rounding_mode="floor") <= torch.div(pq, block, rounding_mode="floor")
    else:
        raise ValueError(topology)
    return top & key_mask[:, None, :].bool()


def _attention(q, k, v, allowed):
    """q [B, H, Lq, hd], k/v [B, G, Lk, hd]: query head h reads KV head h // (H/G) (repeat_interleave)."""
    reps = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(reps, 1), v.repeat_interleave(reps, 1)
    s = q @ k.transpose(-1, -2) / np.sqrt(q.shape[-1])
    s = s.masked_fill(~allowed[:, None], torch.finfo(s.dtype).min)
    return torch.softmax(s, -1) @ v


def _layout(config: dict) -> str:
    mt = str(config.get("model_type", "")).lower()
    if mt == "llada":
        return "llada"
    if mt in ("sdar", "qwen3"):
        return "qwen3"
    if mt in ("dream", "fast_dllm_qwen", "qwen2"):
        return "qwen2"
    raise ValueError(f"reference: no reference forward for model_type {mt!r}")


def forward(config: dict, t: dict[str, torch.Tensor], ids: torch.Tensor, positions: torch.Tensor,
            key_mask: torch.Tensor, topology: str, block: Optional[int] = None,
            past: Optional[list] = None, past_mask: Optional[torch.Tensor] = None, return_kv: bool = False):
    """Logits [B, L, V] (float64) of the checkpoint described by config.json + its tensors `t`.
    past: per layer (keys, values), each [B, G, Lc, hd] (keys after RoPE), with past_mask [B, Lc];
    return_kv: also return the span's per-layer (keys, values) in the same form."""
    layout = _layout(config)
    allowed = allowed_mask(positions, key_mask, topology, block)
    B, L = ids.shape
    if past is not None:
        allowed = torch.cat([past_mask[:, None, :].bool().expand(B, L, past_mask.shape[1]), allowed], -1)
    kvs: list = []

    def attend(i, q, k, v):
        kvs.append((k, v))
        if past is not None:
            k, v = torch.cat([past[i][0], k], 2), torch.cat([past[i][1], v], 2)
        return _attention(q, k, v, allowed)

    if layout == "llada":
        D, H = config["d_model"], config["n_heads"]
        G = config.get("n_kv_heads") or H
        hd, nl = D // H, config["n_layers"]
        eps, theta = config.get("rms_norm_eps", 1e-5), config["rope_theta"]
        x = t["model.transformer.wte.weight"][ids]
        for i in range(nl):
            p = f"model.transformer.blocks.{i}."
            h = _rms(x, t[p + "attn_norm.weight"], eps)
            q = (h @ t[p + "q_proj.weight"].T).view(B, L, H, hd).transpose(1, 2)
            k = (h @ t[p + "k_proj.weight"].T).view(B, L, G, hd).transpose(1, 2)
            v = (h @ t[p + "v_proj.weight"].T).view(B, L, G, hd).transpose(1, 2)
            q, k = _rope(q, positions, theta), _rope(k, positions, theta)
            o = attend(i, q, k, v).transpose(1, 2).reshape(B, L, H * hd)
            x = x + o @ t[p + "attn_out.weight"].T
            h = _rms(x, t[p + "ff_norm.weight"], eps)
            # LLaDALlamaBlock: x, x_up = ff_proj(x), up_proj(x); x = silu(x) * x_up; ff_out(x)
            x = x + (torch.nn.functional.silu(h @ t[p + "ff_proj.weight"].T) * (h @ t[p + "up_proj.weight"].T)) @ t[p + "ff_out.weight"].T
        x = _rms(x, t["model.transformer.ln_f.weight"], eps)
        head = t["model.transformer.wte.weight"] if config.get("weight_tying") else t["model.transformer.ff_out.weight"]
        return (x @ head.T, kvs) if return_kv else x @ head.T
    D, H = config["hidden_size"], config["num_attention_heads"]
    G = config.get("num_key_value_heads") or H
    hd = config.get("head_dim") or D // H
    eps, theta = config.get("rms_norm_eps", 1e-6), config.get("rope_theta", 10000.0)
    x = t["model.embed_tokens.weight"][ids]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        h = _rms(x, t[p + "input_layernorm.weight"], eps)

        def proj(name, heads):
            y = h @ t[a + name + ".weight"].T
            if a + name + ".bias" in t:
                y = y + t[a + name + ".bias"]
            return y.view(B, L, heads, hd)

        q, k, v = proj("q_proj", H), proj("k_proj", G), proj("v_proj", G)
        if layout == "qwen3":  # Qwen3 / SDAR: RMSNorm over each head's vector, before RoPE
            q, k = _rms(q, t[a + "q_norm.weight"], eps), _rms(k, t[a + "k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q, k = _rope(q, positions, theta), _rope(k, positions, theta)
        o = attend(i, q, k, v).transpose(1, 2).reshape(B, L, H * hd)
        x = x + o @ t[a + "o_proj.weight"].T
        h = _rms(x, t[p + "post_attention_layernorm.weight"], eps)
        m = p + "mlp."
        x = x + (torch.nn.functional.silu(h @ t[m + "gate_proj.weight"].T) * (h @ t[m + "up_proj.weight"].T)) @ t[m + "down_proj.weight"].T
    x = _rms(x, t["model.norm.weight"], eps)
    head = t["model.embed_tokens.weight"] if config.get("tie_word_embeddings") else t["lm_head.weight"]
    return (x @ head.T, kvs) if return_kv else x @ head.T


def reduced_head(logits: torch.Tensor, k: int) -> dict[str, np.ndarray]:
    """What the graph's head computes, from full logits [..., V]: probs, top-k, entropy (float64)."""
    logp = torch.log_softmax(logits, -1)
    p = logp.exp()
    top_p, top_i = p.topk(k, -1)
    return {"probs": p.numpy(), "top_ids": top_i.numpy(), "top_probs": top_p.numpy(),
            "entropy": (-(p * logp).sum(-1)).numpy()}
