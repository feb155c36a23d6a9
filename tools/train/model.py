"""Bidirectional transformer denoiser for masked diffusion (no time conditioning, as MDLM and LLaDA).

Shapes: B rows, L positions, D model width, H heads, V vocabulary.
Each block: pre-norm rotary self-attention (hand-written so it exports to ONNX), a depthwise
convolution for cheap local mixing, and a GELU MLP. Padding (attention_mask == 0) is hidden from
attention and from the convolution; a fully padded row yields finite garbage, never NaN.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    vocab_size: int = 4096
    max_len: int = 256
    d_model: int = 256
    n_layers: int = 5
    n_heads: int = 4
    mlp_ratio: int = 4
    conv_kernel: int = 5
    dropout: float = 0.1
    suppressed_ids: tuple = (0, 2)  # pad and mask: never a prediction

    def to_dict(self) -> dict:
        d = asdict(self)
        d["suppressed_ids"] = list(self.suppressed_ids)
        return d


def rotary_tables(max_len: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
    angles = torch.outer(torch.arange(max_len).float(), inv_freq)  # [L, hd/2]
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x: [B, H, L, hd]; rotate (even, odd) halves
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.n_heads = c.n_heads
        self.norm1 = nn.LayerNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)
        self.proj = nn.Linear(c.d_model, c.d_model)
        self.norm2 = nn.LayerNorm(c.d_model)
        self.conv = nn.Conv1d(c.d_model, c.d_model, c.conv_kernel, padding=c.conv_kernel // 2, groups=c.d_model)
        self.norm3 = nn.LayerNorm(c.d_model)
        self.mlp = nn.Sequential(nn.Linear(c.d_model, c.mlp_ratio * c.d_model), nn.GELU(), nn.Linear(c.mlp_ratio * c.d_model, c.d_model))
        self.drop = nn.Dropout(c.dropout)

    def heads(self, x, cos, sin):
        """Queries, keys and values of x, split into heads, rotary applied to q and k: 3 x [B,H,L,hd]."""
        B, L, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, L, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        return apply_rotary(q, cos, sin), apply_rotary(k, cos, sin), v

    def attend(self, q, k, v, key_bias):
        """Attention of q [B,H,Lq,hd] over k, v [B,H,Lk,hd] (key_bias [B,1,1,Lk]), projected: [B,Lq,D]."""
        B, H, Lq, hd = q.shape
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + key_bias  # [B,H,Lq,Lk]
        att = scores.softmax(dim=-1) @ v  # [B,H,Lq,hd]
        return self.proj(att.transpose(1, 2).reshape(B, Lq, H * hd))

    def conv_input(self, x, keep):
        """What the depthwise convolution reads: zero at padding, so padding never leaks into neighbours."""
        return self.norm2(x) * keep

    def finish(self, x, local):
        """The convolution's output [B,L,D] added, then the MLP."""
        x = x + self.drop(local)
        return x + self.drop(self.mlp(self.norm3(x)))

    def forward(self, x, key_bias, keep, cos, sin):
        q, k, v = self.heads(x, cos, sin)
        x = x + self.drop(self.attend(q, k, v, key_bias))
        local = self.conv(self.conv_input(x, keep).transpose(1, 2)).transpose(1, 2)
        return self.finish(x, local)


class Denoiser(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(c.d_model)
        cos, sin = rotary_tables(c.max_len, c.d_model // c.n_heads // 1)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        bias = torch.zeros(c.vocab_size)
        bias[list(c.suppressed_ids)] = -1e4
        self.register_buffer("logit_bias", bias, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        L = input_ids.shape[1]
        keep = attention_mask.unsqueeze(-1).to(self.embed.weight.dtype)  # [B,L,1]
        key_bias = (1.0 - attention_mask.float())[:, None, None, :] * -1e9  # [B,1,1,L]; finite, so no NaN
        cos, sin = self.rope_cos[:L], self.rope_sin[:L]
        x = self.embed(input_ids)  # [B,L,D]
        for blk in self.blocks:
            x = blk(x, key_bias, keep, cos, sin)
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Tied output head: hidden states [B,L,D] -> [B,L,V]."""
        return self.norm(x) @ self.embed.weight.t() + self.logit_bias

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


class ExportHead(nn.Module):
    """Graph exported to ONNX: logits plus reduced outputs, so a sampler never has to read [B,L,V]."""

    def __init__(self, model: Denoiser, top_k: int):
        super().__init__()
        self.model, self.top_k = model, top_k

    def forward(self, input_ids, attention_mask):
        logits = self.model(input_ids, attention_mask)  # [B,L,V]
        return (logits, *reduced_head(logits, self.top_k))


def reduced_head(logits: torch.Tensor, top_k: int):
    """[..., V] logits -> top_ids [..., K], top_probs [..., K] (temperature 1), entropy [...] in nats."""
    logp = logits.log_softmax(dim=-1)
    entropy = -(logp.exp() * logp).sum(dim=-1)
    top_logp, top_ids = logp.topk(top_k, dim=-1)
    return top_ids, top_logp.exp(), entropy
