"""Build the bundle's ONE decoder graph (model.onnx + weights.bin) straight from canonical weights.

The graph is written with onnx.helper (opset 17, plus com.microsoft.MatMulNBits for int4), never
traced: an 8B checkpoint streams through here one tensor at a time. Each weight is loaded from the
WeightSource, converted (transposed / fused / cast / quantized), appended to weights.bin at a 64-byte
aligned offset and dropped; the ModelProto only holds external-data references, so it stays a few
hundred kB whatever the model size. Inputs, outputs and masks are THE GRAPH CONTRACT in spec.py.

Layout choices (why):
  * q/k/v are fused into one projection and gate/up into another: fewer, larger MatMuls, which is
    what a CPU wants at the small spans (1-32 slots) of cached decoding.
  * Grouped KV heads are never repeated: the queries of the R = H/G heads that share a KV head are
    stacked as [B, G, R*Lq, hd], so each attention MatMul reads the cache once, uncopied.
  * Attention is MatMul + Where(mask) + Softmax over [past | span] keys: runs on every provider and
    does bidirectional, causal and block-causal topologies from the same nodes (the mask differs).
    A fully masked row (a padding slot) becomes uniform, never NaN.
  * Reduced head: hidden states are gathered at head_positions BEFORE the final norm and the LM head,
    so the [V, D] projection runs only at the slots asked for; logits never leave the graph.
  * The LM head is a Gemm with transB on the [V, D] matrix as stored (the embedding itself when tied):
    no transposed copy of a 126k-152k-row matrix is ever written.

dtypes:
  fp32  weights float32, compute float32.
  fp16  weights float16 in weights.bin, each followed by a Cast to float32: compute is float32
        (onnxruntime's CPU provider has no fp16 kernels for most of these ops; see the fragment's
        "compute" field and the measured memory in the report).
  int4  q/k/v, o, gate/up, down and the LM head as com.microsoft.MatMulNBits (4 bits, block 32,
        symmetric: zero point 8, scale = signed absmax / -8 per block), activations float32
        (accuracy_level 0). The embedding stays float16 (a Gather of rows, then Cast); norms fp32.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Optional

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from spec import TOP_K, ModelSpec, WeightSource

OPSET = 17
MS_DOMAIN = "com.microsoft"
MODEL_FILE = "model.onnx"
WEIGHTS_FILE = "weights.bin"
ALIGN = 64
INT4_BLOCK = 32
INLINE_MAX_ELEMENTS = 64  # shape constants and scalars stay inside the graph
NEG = float(np.finfo(np.float32).min)  # masked attention score (finite: no NaN on a fully masked row)

DTYPE_NAMES = {"fp32": "float32", "fp16": "float16", "int4": "int4"}


class ExternalWeights:
    """Appends tensors to weights.bin (64-byte aligned) and returns initializers that point into it.
    With write=False the offsets are computed the same way but nothing is written."""

    def __init__(self, path: Path, write: bool):
        self.path = path
        self.write = write
        self.offset = 0
        self.file = open(path, "wb") if write else None

    def add(self, name: str, array: np.ndarray) -> TensorProto:
        pad = -self.offset % ALIGN
        if self.file:  # without a file the array is never made contiguous (a zero-strided view stays free)
            array = np.ascontiguousarray(array)
            self.file.write(b"\0" * pad)
            self.file.write(array.reshape(-1).view(np.uint8).data)  # the array's own buffer: no bytes copy
        self.offset += pad
        t = TensorProto()
        t.name = name
        t.data_type = onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[array.dtype]
        t.dims.extend(array.shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", WEIGHTS_FILE), ("offset", str(self.offset)), ("length", str(array.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.offset += array.nbytes
        return t

    def close(self) -> None:
        if self.file:
            self.file.close()


def quantize_int4(w: np.ndarray, block: int = INT4_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """[N, K] float -> (packed uint8 [N, k_blocks, block/2], scales float32 [N * k_blocks]).
    Symmetric 4-bit with the MatMulNBits default zero point 8: w ~= (q - 8) * scale, q in 0..15.
    K is zero-padded to a whole number of blocks (the op's k_blocks = ceil(K / block))."""
    n, k = w.shape
    kb = -(-k // block)
    padded = np.zeros((n, kb * block), np.float32)
    padded[:, :k] = w
    blocks = padded.reshape(n, kb, block)
    idx = np.abs(blocks).argmax(axis=2)
    signed_max = np.take_along_axis(blocks, idx[..., None], axis=2)[..., 0]
    scale = signed_max / -8.0  # the largest-magnitude value maps exactly onto -8
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(blocks / scale[..., None]), -8, 7).astype(np.int16) + 8
    q = q.astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return packed, scale.reshape(-1).astype(np.float32)


def dequantize_int4(packed: np.ndarray, scales: np.ndarray, k: int) -> np.ndarray:
    """Inverse of quantize_int4 (what MatMulNBits computes with): float32 [N, K]."""
    n, kb, _ = packed.shape
    q = np.empty((n, kb, packed.shape[2] * 2), np.float32)
    q[..., 0::2] = packed & 0x0F
    q[..., 1::2] = packed >> 4
    w = (q - 8.0) * scales.reshape(n, kb, 1)
    return w.reshape(n, -1)[:, :k]


def rope_tables(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """cos and signed sin, each float32 [max_length, hd], rotate-half convention (LLaDA, Qwen2,
    Qwen3 all use it): rot(x) = cat(-x2, x1), so x*cos + rot(x)*sin = x*cos + cat(x2, x1)*sin_signed
    with sin_signed = cat(-sin, sin). Frequencies are computed in float32, as their modeling code does."""
    hd = spec.head_dim
    inv_freq = (1.0 / (np.float32(spec.rope_theta) ** (np.arange(0, hd, 2, dtype=np.float32) / np.float32(hd)))).astype(np.float32)
    t = np.arange(spec.max_length, dtype=np.float32)
    freqs = np.outer(t, inv_freq).astype(np.float32)
    cos, sin = np.cos(freqs), np.sin(freqs)
    return np.concatenate([cos, cos], 1).astype(np.float32), np.concatenate([-sin, sin], 1).astype(np.float32)


class _Graph:
    """Node/initializer bookkeeping with unique names."""

    def __init__(self, weights: ExternalWeights):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.weights = weights
        self.n = 0
        self.consts: dict[tuple, str] = {}

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, domain: str = "", name: Optional[str] = None, **attrs):
        self.n += 1
        base = name or f"{op_type.lower()}_{self.n}"
        outs = [f"{base}" if n_out == 1 else f"{base}_{j}" for j in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=f"n{self.n}_{op_type}", domain=domain or None, **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=np.int64) -> str:
        a = np.asarray(value, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self.consts:
            name = f"c{len(self.consts)}"
            self.inits.append(numpy_helper.from_array(a, name))
            self.consts[key] = name
        return self.consts[key]

    def weight(self, name: str, array: np.ndarray) -> str:
        if array.size <= INLINE_MAX_ELEMENTS:
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        else:
            self.inits.append(self.weights.add(name, array))
        return name


INT4_BLOCKS = (16, 32, 64, 128)
INT4_ACCURACY_LEVELS = (0, 1, 2, 3, 4)  # MatMulNBits: 0 unset (fp32 here), 1 fp32, 2 fp16, 3 bf16, 4 int8 activations


class DecoderBuilder:
    def __init__(self, spec: ModelSpec, weights: WeightSource, ext: ExternalWeights, dtype: str, top_k: int,
                 int4_block: int = INT4_BLOCK, int4_accuracy: int = 0):
        if dtype not in DTYPE_NAMES:
            raise ValueError(f"dtype {dtype!r}: expected one of {', '.join(DTYPE_NAMES)}")
        if int4_block not in INT4_BLOCKS or int4_accuracy not in INT4_ACCURACY_LEVELS:
            raise ValueError(f"int4 block {int4_block} / accuracy_level {int4_accuracy}: expected {INT4_BLOCKS} / {INT4_ACCURACY_LEVELS}")
        self.s, self.w, self.dtype, self.top_k = spec, weights, dtype, top_k
        self.int4_block, self.int4_accuracy = int4_block, int4_accuracy
        self.g = _Graph(ext)

    # --- weights -----------------------------------------------------------------------------
    def _lazy(self, shape: tuple, dtype, make):
        """make() when weights are written; otherwise a zero-strided placeholder of the same shape and
        dtype (no memory), so write_weights=False builds a full-size graph without its arrays."""
        if self.g.weights.write:
            return make()
        return np.broadcast_to(np.zeros((), dtype), shape)

    def cat(self, arrays: list[np.ndarray]) -> np.ndarray:
        shape = (sum(a.shape[0] for a in arrays),) + arrays[0].shape[1:]
        return self._lazy(shape, np.float32, lambda: np.concatenate(arrays, 0))

    def _as(self, array: np.ndarray, dtype, transpose: bool = False) -> np.ndarray:
        shape = array.shape[::-1] if transpose else array.shape
        return self._lazy(shape, dtype, lambda: np.ascontiguousarray((array.T if transpose else array).astype(dtype)))

    def _stored(self, name: str, array: np.ndarray, transpose: bool = False) -> str:
        """A float tensor used as-is (norms, embedding rows): fp16 storage + Cast for fp16/int4."""
        if self.dtype == "fp32" or array.size <= INLINE_MAX_ELEMENTS:
            return self.g.weight(name, self._as(array, np.float32, transpose))
        half = self.g.weight(name + ".fp16", self._as(array, np.float16, transpose))
        return self.g.op("Cast", [half], to=TensorProto.FLOAT, name=name)

    def linear(self, x: str, w: np.ndarray, bias: Optional[np.ndarray], name: str) -> str:
        """y = x @ w.T + bias for w in nn.Linear layout [out, in]; x [..., in]."""
        n, k = w.shape
        if self.dtype == "int4":
            bs = self.int4_block
            if self.g.weights.write:
                packed, scales = quantize_int4(w, bs)
            else:
                kb = -(-k // bs)
                packed = np.broadcast_to(np.uint8(0), (n, kb, bs // 2))
                scales = np.broadcast_to(np.float32(0), (n * kb,))
            ins = [x, self.g.weight(name + ".q4", packed), self.g.weight(name + ".scales", scales)]
            y = self.g.op("MatMulNBits", ins, domain=MS_DOMAIN, name=name, K=k, N=n, bits=4, block_size=bs,
                          accuracy_level=self.int4_accuracy)
        else:
            wt = self._stored(name + ".weight_t", w, transpose=True)
            y = self.g.op("MatMul", [x, wt], name=name)
        if bias is not None:
            y = self.g.op("Add", [y, self.g.weight(name + ".bias", self._as(bias, np.float32))])
        return y

    def rmsnorm(self, x: str, weight: np.ndarray, name: str) -> str:
        g = self.g
        var = g.op("ReduceMean", [g.op("Mul", [x, x])], axes=[-1], keepdims=1)
        inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.const(self.s.rms_eps, np.float32)])])])
        return g.op("Mul", [g.op("Mul", [x, inv]), self._stored(name, weight)], name=name + "_out")

    # --- the graph ----------------------------------------------------------------------------
    def rope(self, x: str, cos: str, sin: str) -> str:
        """x [B, Lq, heads, hd]; cos/sin [B, Lq, 1, hd]."""
        g, half = self.g, self.s.head_dim // 2
        x1, x2 = g.op("Split", [x, g.const([half, half])], n_out=2, axis=-1)
        swapped = g.op("Concat", [x2, x1], axis=-1)
        return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [swapped, sin])])

    def masks(self) -> str:
        """bool [B, 1, R*Lq, Lc+Lq]: may query row (r, q) attend to key k (rows repeat per group head)."""
        g, s = self.g, self.s
        qm = g.op("Cast", ["query_mask"], to=TensorProto.BOOL)
        pm = g.op("Cast", ["past_mask"], to=TensorProto.BOOL)
        shape_b_lq = g.op("Shape", ["positions"])  # [B, Lq]
        lq = g.op("Shape", ["positions"], start=1)  # [Lq]
        lc = g.op("Shape", ["past_mask"], start=1)  # [Lc]
        span_keys = g.op("Unsqueeze", [qm, g.const([1])])  # [B, 1, Lq]
        if s.attention == "bidirectional":
            span = g.op("Expand", [span_keys, g.op("Concat", [shape_b_lq, lq], axis=0)])
        else:
            pq = g.op("Unsqueeze", ["positions", g.const([2])])  # [B, Lq, 1]
            ps = g.op("Unsqueeze", ["positions", g.const([1])])  # [B, 1, Lq]
            if s.attention == "block-causal":
                bs = g.const(int(s.block_size))
                pq, ps = g.op("Div", [pq, bs]), g.op("Div", [ps, bs])  # positions >= 0: floor division
            elif s.attention != "causal":
                raise ValueError(f"unknown attention topology {s.attention!r}")
            span = g.op("And", [g.op("LessOrEqual", [ps, pq]), span_keys])  # [B, Lq, Lq]
        past = g.op("Expand", [g.op("Unsqueeze", [pm, g.const([1])]), g.op("Concat", [shape_b_lq, lc], axis=0)])
        allowed = g.op("Concat", [past, span], axis=2)  # [B, Lq, Lc+Lq]
        allowed = g.op("Unsqueeze", [allowed, g.const([1])])  # [B, 1, Lq, Lk]
        reps = s.n_heads // s.n_kv_heads
        if reps > 1:
            allowed = g.op("Tile", [allowed, g.const([1, 1, reps, 1])])  # row r*Lq + q
        return g.op("Identity", [allowed], name="attention_allowed")

    def layer(self, i: int, x: str, cos: str, sin: str, allowed: str, presents: tuple[list, list]) -> str:
        g, s, w = self.g, self.s, self.w
        H, G, hd = s.n_heads, s.n_kv_heads, s.head_dim
        R = H // G
        p = f"layers.{i}."
        h = self.rmsnorm(x, w.load(p + "attn_norm"), p + "attn_norm")
        wqkv = self.cat([w.load(p + "q.weight"), w.load(p + "k.weight"), w.load(p + "v.weight")])
        bqkv = self.cat([w.load(p + "q.bias"), w.load(p + "k.bias"), w.load(p + "v.bias")]) if s.qkv_bias else None
        qkv = self.linear(h, wqkv, bqkv, p + "qkv")
        del wqkv, bqkv
        q, k, v = g.op("Split", [qkv, g.const([H * hd, G * hd, G * hd])], n_out=3, axis=-1)
        q = g.op("Reshape", [q, g.const([0, 0, H, hd])])
        k = g.op("Reshape", [k, g.const([0, 0, G, hd])])
        v = g.op("Reshape", [v, g.const([0, 0, G, hd])])
        if s.qk_norm:
            q = self.rmsnorm(q, w.load(p + "q_norm"), p + "q_norm")
            k = self.rmsnorm(k, w.load(p + "k_norm"), p + "k_norm")
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        k = g.op("Transpose", [k], perm=[0, 2, 1, 3], name=f"present_key_{i}")  # [B, G, Lq, hd]
        v = g.op("Transpose", [v], perm=[0, 2, 1, 3], name=f"present_value_{i}")
        presents[0].append(k)
        presents[1].append(v)
        keys = g.op("Concat", [f"past_keys_{i}", k], axis=2)  # [B, G, Lk, hd]
        values = g.op("Concat", [f"past_values_{i}", v], axis=2)
        q = g.op("Mul", [q, g.const(1.0 / np.sqrt(hd), np.float32)])
        q = g.op("Reshape", [q, g.const([0, 0, G, R, hd])])
        q = g.op("Transpose", [q], perm=[0, 2, 3, 1, 4])  # [B, G, R, Lq, hd]
        q = g.op("Reshape", [q, g.const([0, 0, -1, hd])])  # [B, G, R*Lq, hd]
        scores = g.op("MatMul", [q, g.op("Transpose", [keys], perm=[0, 1, 3, 2])])  # [B, G, R*Lq, Lk]
        scores = g.op("Where", [allowed, scores, g.const(NEG, np.float32)])
        probs = g.op("Softmax", [scores], axis=-1)
        o = g.op("MatMul", [probs, values])  # [B, G, R*Lq, hd]
        o = g.op("Reshape", [o, g.const([0, 0, R, -1, hd])])
        o = g.op("Transpose", [o], perm=[0, 3, 1, 2, 4])  # [B, Lq, G, R, hd]
        o = g.op("Reshape", [o, g.const([0, 0, H * hd])])
        x = g.op("Add", [x, self.linear(o, w.load(p + "o.weight"), None, p + "o")])
        h = self.rmsnorm(x, w.load(p + "mlp_norm"), p + "mlp_norm")
        wgu = self.cat([w.load(p + "gate.weight"), w.load(p + "up.weight")])
        gu = self.linear(h, wgu, None, p + "gate_up")
        del wgu
        gate, up = g.op("Split", [gu, g.const([s.mlp_hidden, s.mlp_hidden])], n_out=2, axis=-1)
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
        return g.op("Add", [x, self.linear(act, w.load(p + "down.weight"), None, p + "down")], name=f"hidden_{i}")

    def head(self, x: str) -> None:
        """Gather at head_positions, final norm, LM head, softmax, top-k, entropy."""
        g, s = self.g, self.s
        idx = g.op("Unsqueeze", ["head_positions", g.const([2])])  # [B, Lh, 1]
        hsel = g.op("GatherND", [x, idx], batch_dims=1)  # [B, Lh, D]
        hsel = self.rmsnorm(hsel, self.w.load("final_norm"), "final_norm")
        if self.dtype == "int4":
            if s.tied_embeddings:
                head_w = self.w.load("embed")
            else:
                head_w = self.w.load("lm_head")
            logits = self.linear(hsel, head_w, None, "lm_head")
            del head_w
        else:
            if s.tied_embeddings:
                table = self.embed_table
            else:
                table = self._stored("lm_head", self.w.load("lm_head"))
            flat = g.op("Reshape", [hsel, g.const([-1, s.d_model])])
            logits2 = g.op("Gemm", [flat, table], transB=1)  # [B*Lh, V]
            out_shape = g.op("Concat", [g.op("Shape", ["head_positions"]), g.const([s.vocab_size])], axis=0)
            logits = g.op("Reshape", [logits2, out_shape])
        probs = g.op("Softmax", [logits], axis=-1)
        g.op("TopK", [probs, g.const([self.top_k])], n_out=2, axis=-1, largest=1, sorted=1, name="topk")
        self.g.nodes[-1].output[:] = ["top_probs", "top_ids"]
        plogp = g.op("Mul", [probs, g.op("LogSoftmax", [logits], axis=-1)])
        g.op("Neg", [g.op("ReduceSum", [plogp, g.const([-1])], keepdims=0)], name="entropy")

    def build(self) -> onnx.ModelProto:
        g, s = self.g, self.s
        if s.n_heads % s.n_kv_heads or s.head_dim % 2:
            raise ValueError(f"{s.n_heads} heads / {s.n_kv_heads} KV heads / head_dim {s.head_dim}: unsupported")
        embed = self.w.load("embed")
        if self.dtype == "fp32":
            self.embed_table = g.weight("embed", self._as(embed, np.float32))
            x = g.op("Gather", [self.embed_table, "input_ids"])
        else:
            half = g.weight("embed.fp16", self._as(embed, np.float16))
            x = g.op("Cast", [g.op("Gather", [half, "input_ids"])], to=TensorProto.FLOAT)
            if s.tied_embeddings and self.dtype == "fp16":
                self.embed_table = g.op("Cast", [half], to=TensorProto.FLOAT, name="embed")
        del embed
        cos_t, sin_t = rope_tables(s)
        cos = g.op("Unsqueeze", [g.op("Gather", [g.weight("rope_cos", cos_t), "positions"]), g.const([2])])
        sin = g.op("Unsqueeze", [g.op("Gather", [g.weight("rope_sin", sin_t), "positions"]), g.const([2])])
        del cos_t, sin_t
        allowed = self.masks()
        presents: tuple[list, list] = ([], [])
        for i in range(s.n_layers):
            x = self.layer(i, x, cos, sin, allowed, presents)
        self.head(x)
        for out, parts in (("present_keys", presents[0]), ("present_values", presents[1])):
            ups = [g.op("Unsqueeze", [t, g.const([1])]) for t in parts]
            g.op("Concat", ups, axis=1, name=out)
        return self._model()

    def _model(self) -> onnx.ModelProto:
        s, f, i64 = self.s, TensorProto.FLOAT, TensorProto.INT64
        G, hd, N = s.n_kv_heads, s.head_dim, s.n_layers
        inputs = [
            helper.make_tensor_value_info("input_ids", i64, ["B", "Lq"]),
            helper.make_tensor_value_info("positions", i64, ["B", "Lq"]),
            helper.make_tensor_value_info("query_mask", i64, ["B", "Lq"]),
            helper.make_tensor_value_info("past_mask", i64, ["B", "Lc"]),
        ]
        for i in range(N):
            inputs.append(helper.make_tensor_value_info(f"past_keys_{i}", f, ["B", G, "Lc", hd]))
            inputs.append(helper.make_tensor_value_info(f"past_values_{i}", f, ["B", G, "Lc", hd]))
        inputs.append(helper.make_tensor_value_info("head_positions", i64, ["B", "Lh"]))
        outputs = [
            helper.make_tensor_value_info("top_ids", i64, ["B", "Lh", self.top_k]),
            helper.make_tensor_value_info("top_probs", f, ["B", "Lh", self.top_k]),
            helper.make_tensor_value_info("entropy", f, ["B", "Lh"]),
            helper.make_tensor_value_info("present_keys", f, ["B", N, G, "Lq", hd]),
            helper.make_tensor_value_info("present_values", f, ["B", N, G, "Lq", hd]),
        ]
        graph = helper.make_graph(self.g.nodes, "decoder", inputs, outputs, self.g.inits)
        opsets = [helper.make_opsetid("", OPSET)]
        if self.dtype == "int4":
            opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
        model = helper.make_model(graph, opset_imports=opsets, producer_name="dllm-batch tools/import")
        model.ir_version = 8
        return model


def fragment(spec: ModelSpec, dtype: str, top_k: int, int4_block: int = INT4_BLOCK, int4_accuracy: int = 0) -> dict:
    """The dllm.json fields the graph builder owns (spec.py's format 3)."""
    G, hd, N = spec.n_kv_heads, spec.head_dim, spec.n_layers
    inputs = {
        "input_ids": "int64 [B, Lq]", "positions": "int64 [B, Lq]", "query_mask": "int64 [B, Lq]",
        "past_mask": "int64 [B, Lc]", "head_positions": "int64 [B, Lh]",
    }
    for i in range(N):
        inputs[f"past_keys_{i}"] = f"float32 [B, {G}, Lc, {hd}]"
        inputs[f"past_values_{i}"] = f"float32 [B, {G}, Lc, {hd}]"
    out = {
        "graphs": {"decoder": MODEL_FILE},
        "weights": WEIGHTS_FILE,
        "weights_dtype": DTYPE_NAMES[dtype],
        "compute_dtype": "float32",  # fp16: Cast to float32 after each weight; int4: float32 activations
        "inputs": inputs,
        "outputs": {
            "top_ids": f"int64 [B, Lh, {top_k}]", "top_probs": f"float32 [B, Lh, {top_k}]",
            "entropy": "float32 [B, Lh]", "present_keys": f"float32 [B, {N}, {G}, Lq, {hd}]",
            "present_values": f"float32 [B, {N}, {G}, Lq, {hd}]",
        },
        "top_k": top_k,
        "cache": {"layers": N, "heads": G, "head_dim": hd, "d_model": spec.d_model, "halo": 0},
        "attention": {"type": spec.attention, "block_size": spec.block_size},
    }
    if dtype == "int4":
        out["quantization"] = {"op": "com.microsoft.MatMulNBits", "bits": 4, "block_size": int4_block,
                               "symmetric": True, "accuracy_level": int4_accuracy}
    return out


def build_decoder(spec: ModelSpec, weights: WeightSource, out_dir: Path, dtype: str = "fp32", top_k: int = TOP_K,
                  write_weights: bool = True, int4_block: int = INT4_BLOCK, int4_accuracy: int = 0) -> dict:
    """Writes out_dir/model.onnx (+ out_dir/weights.bin when write_weights) and returns the dllm.json
    fragment. write_weights=False: the same graph with external-data references and no data, for shape
    inference of full-size graphs (weights are still loaded one at a time from `weights`, so pass a
    source that yields cheap arrays, e.g. zeros via np.broadcast_to)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = ExternalWeights(out_dir / WEIGHTS_FILE, write_weights)
    try:
        model = DecoderBuilder(spec, weights, ext, dtype, top_k, int4_block, int4_accuracy).build()
    finally:
        ext.close()
    onnx.save_model(model, str(out_dir / MODEL_FILE))
    frag = fragment(spec, dtype, top_k, int4_block, int4_accuracy)
    frag["weights_bytes"] = ext.offset
    return frag


class ZeroWeights:
    """A WeightSource of zeros in each canonical shape (broadcast views: no memory), for shape checks."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec

    def names(self):
        return iter(self.spec.canonical_names())

    def load(self, name: str) -> np.ndarray:
        return np.broadcast_to(np.float32(0), self.spec.canonical_shape(name))


def main() -> None:
    ap = argparse.ArgumentParser(description="Build the decoder graph of a Hugging Face checkpoint (tools/import).")
    ap.add_argument("hf_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", default="fp32", choices=list(DTYPE_NAMES))
    ap.add_argument("--max-length", type=int)
    ap.add_argument("--no-weights", action="store_true", help="graph only, zero-weight shapes, no weights.bin")
    a = ap.parse_args()
    from families import open_checkpoint

    spec, source = open_checkpoint(a.hf_dir, a.max_length)
    if a.no_weights:
        source = ZeroWeights(spec)
    print(json.dumps(build_decoder(spec, source, Path(a.out_dir), a.dtype, write_weights=not a.no_weights), indent=1))


if __name__ == "__main__":
    main()
