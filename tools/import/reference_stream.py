"""A streaming NumPy reference forward of the one decoder architecture (ModelSpec), used for the
parity figures measured at import. It loads one weight at a time from the WeightSource (so it runs
at 8B on a machine that cannot hold the model) and is written from the published architecture,
independently of graph_builder: pre-norm RMSNorm, RoPE with rotate-half pairs (dims i and i + hd/2,
angles in float64 as LLaDA's rope_full_precision and Qwen do in fp32), optional QKV bias and per-head
QK-norm before RoPE, grouped KV heads, the attention topology of spec.py, SwiGLU, final norm, head.
"""
import numpy as np

from spec import ModelSpec


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    var = np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True)
    return (x / np.sqrt(var + eps)).astype(np.float32) * w


def allowed(spec: ModelSpec, positions: np.ndarray) -> np.ndarray:
    q, s = positions[:, None], positions[None, :]
    if spec.attention == "bidirectional":
        return np.ones((len(positions), len(positions)), bool)
    if spec.attention == "causal":
        return s <= q
    return s // spec.block_size <= q // spec.block_size


def rope(x: np.ndarray, positions: np.ndarray, theta: float) -> np.ndarray:
    """x [L, heads, hd]; rotate-half convention."""
    hd = x.shape[-1]
    inv = 1.0 / (theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    ang = positions[:, None].astype(np.float64) * inv[None, :]
    cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :].astype(np.float32)
    sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :].astype(np.float32)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + np.concatenate([-x2, x1], -1) * sin


def reference_head(spec: ModelSpec, weights, ids: np.ndarray, top_k: int):
    """(top_ids [L, K], top_probs [L, K], entropy [L], probs [L, V] float64) of one unpadded
    sequence at positions 0..L-1."""
    L = len(ids)
    pos = np.arange(L)
    H, G, hd = spec.n_heads, spec.n_kv_heads, spec.head_dim
    embed = weights.load("embed")
    x = embed[ids].astype(np.float32)
    if not spec.tied_embeddings:
        del embed
    mask = allowed(spec, pos)
    for i in range(spec.n_layers):
        p = f"layers.{i}."
        h = rms_norm(x, weights.load(p + "attn_norm"), spec.rms_eps)
        proj = {}
        for n in "qkv":
            y = h @ weights.load(p + n + ".weight").T
            if spec.qkv_bias:
                y = y + weights.load(p + n + ".bias")
            proj[n] = y.reshape(L, -1, hd)
        q, k, v = proj["q"], proj["k"], proj["v"]
        if spec.qk_norm:
            q = rms_norm(q, weights.load(p + "q_norm"), spec.rms_eps)
            k = rms_norm(k, weights.load(p + "k_norm"), spec.rms_eps)
        q, k = rope(q, pos, spec.rope_theta), rope(k, pos, spec.rope_theta)
        rep = H // G
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)  # head j reads kv head j // rep
        scores = np.einsum("qhd,shd->hqs", q, k).astype(np.float64) / np.sqrt(hd)
        scores = np.where(mask[None], scores, -np.inf)
        scores -= scores.max(-1, keepdims=True)
        attn = np.exp(scores)
        attn /= attn.sum(-1, keepdims=True)
        out = np.einsum("hqs,shd->qhd", attn.astype(np.float32), v).reshape(L, H * hd)
        x = x + out @ weights.load(p + "o.weight").T
        h = rms_norm(x, weights.load(p + "mlp_norm"), spec.rms_eps)
        g = h @ weights.load(p + "gate.weight").T
        u = h @ weights.load(p + "up.weight").T
        x = x + ((g / (1.0 + np.exp(-g))) * u) @ weights.load(p + "down.weight").T
    x = rms_norm(x, weights.load("final_norm"), spec.rms_eps)
    head = embed if spec.tied_embeddings else weights.load("lm_head")
    logits = (x @ head.T).astype(np.float64)
    logits -= logits.max(-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(-1, keepdims=True)
    entropy = -(probs * np.log(np.maximum(probs, 1e-300))).sum(-1)
    order = np.argsort(-probs, axis=-1, kind="stable")[:, :top_k]
    return order, np.take_along_axis(probs, order, -1), entropy, probs
