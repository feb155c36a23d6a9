"""The contract between a checkpoint reader (families.py, safetensors) and the graph builder, and
between the bundle the importer writes and the engine that runs it.

A family reader turns a Hugging Face folder into a ModelSpec plus a WeightSource that yields each
weight under its CANONICAL name (below) as a float32 numpy array in PyTorch's nn.Linear layout
([out, in]), one tensor at a time. The graph builder only ever sees canonical names, so it has no
idea which checkpoint it is building; families.py only ever sees checkpoint names.

Canonical weight names (N layers, D width, H query heads, G key/value heads, hd head width,
F MLP width, V vocabulary):
    embed                        [V, D]
    layers.{i}.attn_norm         [D]          RMSNorm weight before attention
    layers.{i}.q.weight          [H*hd, D]
    layers.{i}.q.bias            [H*hd]       only when spec.qkv_bias
    layers.{i}.k.weight          [G*hd, D]
    layers.{i}.k.bias            [G*hd]       only when spec.qkv_bias
    layers.{i}.v.weight          [G*hd, D]
    layers.{i}.v.bias            [G*hd]       only when spec.qkv_bias
    layers.{i}.q_norm            [hd]         only when spec.qk_norm (RMSNorm per head, before RoPE)
    layers.{i}.k_norm            [hd]         only when spec.qk_norm
    layers.{i}.o.weight          [D, H*hd]
    layers.{i}.mlp_norm          [D]          RMSNorm weight before the MLP
    layers.{i}.gate.weight       [F, D]       SwiGLU: down(silu(gate(x)) * up(x))
    layers.{i}.up.weight         [F, D]
    layers.{i}.down.weight       [D, F]
    final_norm                   [D]
    lm_head                      [V, D]       absent when spec.tied_embeddings (the head is embed)

The bundle's graph (one file, `model.onnx`, weights in ONE external-data file `weights.bin`): a
single decoder graph with an optional past, so full recompute, a block refresh and a cached step
are three ways of feeding the same graph and a worker holds one copy of the weights.

    inputs
      input_ids       int64 [B, Lq]        the span being computed (the whole sequence for full/refresh)
      positions       int64 [B, Lq]        absolute position of each span slot (RoPE and topology)
      query_mask      int64 [B, Lq]        1 = real span slot, 0 = right padding
      past_mask       int64 [B, Lc]        1 = attend to this cached position (Lc >= 1: pass one
                                           masked dummy position when there is no cache)
      past_keys_{i}   float32 [B, G, Lc, hd]   per layer i, keys AFTER RoPE (and after qk-norm)
      past_values_{i} float32 [B, G, Lc, hd]
      head_positions  int64 [B, Lh]        span SLOTS (0..Lq-1) whose reduced head is wanted
    outputs
      top_ids         int64 [B, Lh, K]     K = TOP_K most probable ids, most probable first
      top_probs       float32 [B, Lh, K]   softmax probabilities (temperature 1) of top_ids
      entropy         float32 [B, Lh]      entropy of the full softmax, nats
      present_keys    float32 [B, N, G, Lq, hd]   the span's own keys (after RoPE), all layers
      present_values  float32 [B, N, G, Lq, hd]

    Attention of span slot q (position p_q):
      to cached slot c: allowed iff past_mask[c] == 1 (the engine decides what it caches and masks);
      to span slot s: allowed iff query_mask[s] == 1 and the topology allows (p_q, p_s):
        bidirectional: always;  causal: p_s <= p_q;
        block-causal: p_s // block_size <= p_q // block_size   (absolute positions).
    Outputs at slot q are the model's own outputs at that position: for spec.shift_logits models
    (Dream, Qwen-derived, every autoregressive model) they predict the token at position p_q + 1; the
    engine, not the graph, maps them to positions.
    Full logits ([B, L, V], 126k-152k columns) never leave the graph.

The bundle's dllm.json (read by libs/engine/src/bundle/dllm-json.ts; every field written explicitly):
    {
      "format_version": 3,
      "name": "<NAME>", "kind": "masked-diffusion" | "autoregressive",
      "family": "llada" | "qwen2" | "qwen3", "source": {"path": ..., "architectures": [...], "model_type": ...},
      "vocab_size": V, "max_length": L,
      "mask_token_id": int (masked-diffusion; autoregressive bundles use an unused/pad id),
      "eos_token_id": int, "eos_token_ids": [int...] (every id that ends generation: eos + eot),
      "pad_token_id": int, "bos_token_id": int | null,
      "shift_logits": bool,
      "attention": {"type": "bidirectional" | "block-causal" | "causal", "block_size": int | null},
      "graphs": {"decoder": "model.onnx"},
      "weights": "weights.bin", "weights_dtype": "float32" | "float16" | "int4",
      "inputs": {...}, "outputs": {"top_ids": ..., "top_probs": ..., "entropy": ..., "present_keys": ..., "present_values": ...},
      "top_k": K,
      "cache": {"layers": N, "heads": G, "head_dim": hd, "d_model": D, "halo": 0},
      "chat_template": "chat_template.jinja" | null,
      "defaults": {"gen_length": int, "block_length": int, "policy": "threshold" | "fixed", "threshold": float},
      "parity": {...}   (figures measured at import, also in MODEL_CARD.md)
    }
"""
from dataclasses import dataclass
from typing import Iterator, Literal, Optional, Protocol

import numpy as np

TOP_K = 8

Family = Literal["llada", "qwen2", "qwen3"]
Kind = Literal["masked-diffusion", "autoregressive"]
Topology = Literal["bidirectional", "block-causal", "causal"]
Dtype = Literal["fp32", "fp16", "int4"]


@dataclass(frozen=True)
class ModelSpec:
    family: Family
    kind: Kind
    attention: Topology
    block_size: Optional[int]  # block-causal only (Fast-dLLM v2: 32, SDAR: 4)
    shift_logits: bool  # output at position p predicts the token at p + 1
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    mlp_hidden: int
    rope_theta: float
    rms_eps: float
    qkv_bias: bool
    qk_norm: bool
    tied_embeddings: bool
    max_length: int

    def canonical_names(self) -> list[str]:
        """Every canonical weight name this spec needs, in build order."""
        names = ["embed"]
        for i in range(self.n_layers):
            p = f"layers.{i}."
            names += [p + "attn_norm", p + "q.weight", p + "k.weight", p + "v.weight"]
            if self.qkv_bias:
                names += [p + "q.bias", p + "k.bias", p + "v.bias"]
            if self.qk_norm:
                names += [p + "q_norm", p + "k_norm"]
            names += [p + "o.weight", p + "mlp_norm", p + "gate.weight", p + "up.weight", p + "down.weight"]
        names.append("final_norm")
        if not self.tied_embeddings:
            names.append("lm_head")
        return names

    def canonical_shape(self, name: str) -> tuple[int, ...]:
        D, hd, F, V = self.d_model, self.head_dim, self.mlp_hidden, self.vocab_size
        q, kv = self.n_heads * hd, self.n_kv_heads * hd
        leaf = name.split(".", 2)[-1] if name.startswith("layers.") else name
        shapes = {
            "embed": (V, D), "lm_head": (V, D), "final_norm": (D,),
            "attn_norm": (D,), "mlp_norm": (D,), "q_norm": (hd,), "k_norm": (hd,),
            "q.weight": (q, D), "q.bias": (q,), "k.weight": (kv, D), "k.bias": (kv,),
            "v.weight": (kv, D), "v.bias": (kv,), "o.weight": (D, q),
            "gate.weight": (F, D), "up.weight": (F, D), "down.weight": (D, F),
        }
        return shapes[leaf]


class WeightSource(Protocol):
    """Weights by canonical name, one at a time: peak memory stays near the largest single tensor."""

    def load(self, name: str) -> np.ndarray:
        """float32, the canonical shape; raises KeyError naming the checkpoint tensor when missing."""
        ...

    def names(self) -> Iterator[str]:
        ...
