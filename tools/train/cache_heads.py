"""The two graphs of cached block decoding (Fast-dLLM prefix and dual cache), over a trained Denoiser.

refresh: the whole sequence in, as the full graph. Out: the reduced head at `head_positions` only
  (the active block), every layer's keys (after the rotary embedding) and values for all positions,
  and every layer's convolution input at `halo_positions` (the r = kernel // 2 positions on each side
  of the block that the depthwise convolution reads across the block's edges).
step: only a span of positions in (the active block; in prefix mode the block and everything after
  it), with their absolute positions, the cached keys/values of the other positions (one input per
  layer) and a validity mask over them, and the halo. Out: the reduced head for the span. No cache outputs.

Keys are cached after the rotary embedding, so cached entries can be concatenated with the span's
fresh ones in any order: attention is bidirectional with no causal mask, and padding is masked.
With a cache taken on the same tokens, step reproduces refresh exactly (up to float summation order).

Shapes: B rows, L sequence, Lh head positions, Lq span, Lc cached positions, N layers, H heads,
hd head width, D width, r halo width, K top-k.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from model import Denoiser, reduced_head


def gather_positions(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """x [B,L,D], positions [B,P] -> [B,P,D]."""
    return torch.gather(x, 1, positions.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class RefreshHead(nn.Module):
    def __init__(self, model: Denoiser, top_k: int):
        super().__init__()
        self.model, self.top_k = model, top_k

    def forward(self, input_ids, attention_mask, head_positions, halo_positions):
        m = self.model
        L = input_ids.shape[1]
        keep = attention_mask.unsqueeze(-1).to(m.embed.weight.dtype)  # [B,L,1]
        key_bias = (1.0 - attention_mask.float())[:, None, None, :] * -1e9  # [B,1,1,L]
        cos, sin = m.rope_cos[:L], m.rope_sin[:L]
        x = m.embed(input_ids)  # [B,L,D]
        keys, values, halos = [], [], []
        for blk in m.blocks:
            q, k, v = blk.heads(x, cos, sin)  # [B,H,L,hd]
            keys.append(k)
            values.append(v)
            x = x + blk.attend(q, k, v, key_bias)
            conv_in = blk.conv_input(x, keep)  # [B,L,D]
            halos.append(gather_positions(conv_in, halo_positions))  # [B,2r,D]
            x = blk.finish(x, blk.conv(conv_in.transpose(1, 2)).transpose(1, 2))
        logits = m.logits(gather_positions(x, head_positions))  # [B,Lh,V]
        top_ids, top_probs, entropy = reduced_head(logits, self.top_k)
        # [B,N,H,L,hd] x 2, [B,N,2r,D]: batch-major, so one row's cache is one contiguous slice
        return top_ids, top_probs, entropy, torch.stack(keys, 1), torch.stack(values, 1), torch.stack(halos, 1)


class StepHead(nn.Module):
    def __init__(self, model: Denoiser, top_k: int):
        super().__init__()
        self.model, self.top_k = model, top_k
        self.r = model.config.conv_kernel // 2

    def forward(self, input_ids, positions, query_mask, past_mask, halo, *past):
        """past: keys of layer 0..N-1, then values of layer 0..N-1, each [B,H,Lc,hd] (one input per
        layer, so no layer is sliced out of a bigger tensor at run time)."""
        m, r = self.model, self.r
        n = len(m.blocks)
        past_keys, past_values = past[:n], past[n:]
        keep = query_mask.unsqueeze(-1).to(m.embed.weight.dtype)  # [B,Lq,1]
        past_bias = (1.0 - past_mask.float())[:, None, None, :] * -1e9  # [B,1,1,Lc]
        span_bias = (1.0 - query_mask.float())[:, None, None, :] * -1e9  # [B,1,1,Lq]
        cos, sin = m.rope_cos[positions].unsqueeze(1), m.rope_sin[positions].unsqueeze(1)  # [B,1,Lq,hd/2]
        # the right halo sits just after each row's last real span position (spans are right-padded)
        Lq = input_ids.shape[1]
        slots = torch.arange(Lq + 2 * r, device=input_ids.device)  # [Lq+2r]
        right = query_mask.sum(-1, keepdim=True) + r + torch.arange(r, device=input_ids.device)  # [B,r]
        place = (slots[None, :, None] == right[:, None, :]).to(keep.dtype)  # [B,Lq+2r,r]
        x = m.embed(input_ids)  # [B,Lq,D]
        for i, blk in enumerate(m.blocks):
            q, k, v = blk.heads(x, cos, sin)  # [B,H,Lq,hd]
            x = x + split_attend(blk, q, (past_keys[i], k), (past_values[i], v), (past_bias, span_bias))
            conv_in = blk.conv_input(x, keep)  # [B,Lq,D]
            left_halo, right_halo = halo[:, i, :r], halo[:, i, r:]  # [B,r,D] each
            ext = torch.cat((left_halo, conv_in, torch.zeros_like(right_halo)), 1) + place @ right_halo  # [B,Lq+2r,D]
            local = F.conv1d(ext.transpose(1, 2), blk.conv.weight, blk.conv.bias, groups=ext.shape[-1]).transpose(1, 2)
            x = blk.finish(x, local)  # [B,Lq,D]
        return reduced_head(m.logits(x), self.top_k)


def split_attend(blk, q, keys, values, biases):
    """Block.attend over two key sets (cached, then the span's own) without concatenating the keys:
    one softmax over both score blocks, then the two weighted sums. Same result, no copy of the cache."""
    hd = q.shape[-1]
    scores = [(q @ k.transpose(-1, -2)) / math.sqrt(hd) + b for k, b in zip(keys, biases)]  # [B,H,Lq,Lc], [B,H,Lq,Lq]
    probs = torch.cat(scores, -1).softmax(dim=-1)
    lc = keys[0].shape[2]
    att = probs[..., :lc] @ values[0] + probs[..., lc:] @ values[1]  # [B,H,Lq,hd]
    B, H, Lq, _ = q.shape
    return blk.proj(att.transpose(1, 2).reshape(B, Lq, H * hd))
