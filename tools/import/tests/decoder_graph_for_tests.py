"""TEST-ONLY stand-in for graph_builder.build_decoder: a plain fp32 ONNX decoder graph with the
interface of spec.py (weights inline, no fp16/int4, no streaming, small models only). It exists so
the CLI's parity path (import_parity.py -> parity-run.ts -> the engine's OrtDecoderForward) can be
tested end to end before the real builder lands; it is not the product's graph builder."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_decoder(spec, weights, out_dir, dtype, top_k, write_weights, **_int4_options):
    assert dtype == "fp32", "the test stand-in builds fp32 graphs only"
    nodes, inits = [], []
    n = [0]

    def name(p):
        n[0] += 1
        return f"{p}_{n[0]}"

    def const(arr, p="c"):
        t = name(p)
        inits.append(numpy_helper.from_array(np.asarray(arr), t))
        return t

    def op(kind, ins, p=None, **attrs):
        out = name(p or kind)
        nodes.append(helper.make_node(kind, ins, [out], **attrs))
        return out

    def rms(x, w):
        var = op("ReduceMean", [op("Mul", [x, x])], axes=[-1], keepdims=1)
        return op("Mul", [op("Div", [x, op("Sqrt", [op("Add", [var, const(np.float32(spec.rms_eps))])])]), const(w)])

    def linear(x, canon, bias=None):
        y = op("MatMul", [x, const(np.ascontiguousarray(weights.load(canon).T))])
        return op("Add", [y, const(weights.load(bias))]) if bias else y

    H, G, hd, D, N = spec.n_heads, spec.n_kv_heads, spec.head_dim, spec.d_model, spec.n_layers
    rep = H // G
    x = op("Gather", [const(weights.load("embed")), "input_ids"], axis=0)
    inv = (1.0 / (spec.rope_theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))).astype(np.float32)
    ang = op("Mul", [op("Unsqueeze", [op("Cast", ["positions"], to=TensorProto.FLOAT), const(np.array([-1]))]), const(inv)])
    cos = op("Unsqueeze", [op("Concat", [op("Cos", [ang])] * 2, axis=-1), const(np.array([1]))])  # [B,1,Lq,hd]
    sin = op("Unsqueeze", [op("Concat", [op("Sin", [ang])] * 2, axis=-1), const(np.array([1]))])

    def rope(t):
        a, b = name("half"), name("half")
        nodes.append(helper.make_node("Split", [t, const(np.array([hd // 2, hd // 2]))], [a, b], axis=-1))
        rot = op("Concat", [op("Neg", [b]), a], axis=-1)
        return op("Add", [op("Mul", [t, cos]), op("Mul", [rot, sin])])

    # allowed [B, Lq, Lc + Lq]
    one = const(np.int64(1))
    past_ok = op("Expand", [op("Unsqueeze", [op("Equal", ["past_mask", one]), const(np.array([1]))]),
                            op("Concat", [op("Shape", ["input_ids"]), op("Shape", ["past_mask"], start=1)], axis=0)])
    span_ok = op("Unsqueeze", [op("Equal", ["query_mask", one]), const(np.array([1]))])  # [B,1,Lq]
    pq = op("Unsqueeze", ["positions", const(np.array([2]))])
    ps = op("Unsqueeze", ["positions", const(np.array([1]))])
    if spec.attention == "causal":
        span_ok = op("And", [span_ok, op("LessOrEqual", [ps, pq])])
    elif spec.attention == "block-causal":
        bs = const(np.int64(spec.block_size))
        span_ok = op("And", [span_ok, op("LessOrEqual", [op("Div", [ps, bs]), op("Div", [pq, bs])])])
    else:
        span_ok = op("And", [span_ok, op("Equal", [pq, pq])])  # broadcast to [B,Lq,Lq]
    allowed = op("Concat", [past_ok, span_ok], axis=-1)
    bias = op("Where", [allowed, const(np.float32(0)), const(np.float32(-1e9))])
    bias = op("Unsqueeze", [bias, const(np.array([1, 2]))])  # [B,1,1,Lq,Lk]

    def heads(t, count):
        return op("Transpose", [op("Reshape", [t, const(np.array([0, 0, count, hd]))])], perm=[0, 2, 1, 3])

    presents_k, presents_v = [], []
    for i in range(N):
        p = f"layers.{i}."
        h = rms(x, weights.load(p + "attn_norm"))
        q = heads(linear(h, p + "q.weight", p + "q.bias" if spec.qkv_bias else None), H)
        k = heads(linear(h, p + "k.weight", p + "k.bias" if spec.qkv_bias else None), G)
        v = heads(linear(h, p + "v.weight", p + "v.bias" if spec.qkv_bias else None), G)
        if spec.qk_norm:
            q, k = rms(q, weights.load(p + "q_norm")), rms(k, weights.load(p + "k_norm"))
        q, k = rope(q), rope(k)
        presents_k.append(op("Unsqueeze", [k, const(np.array([1]))]))
        presents_v.append(op("Unsqueeze", [v, const(np.array([1]))]))
        kk = op("Unsqueeze", [op("Concat", [f"past_keys_{i}", k], axis=2), const(np.array([2]))])  # [B,G,1,Lk,hd]
        vv = op("Unsqueeze", [op("Concat", [f"past_values_{i}", v], axis=2), const(np.array([2]))])
        qg = op("Reshape", [q, const(np.array([0, G, rep, -1, hd]))])  # [B,G,rep,Lq,hd]
        s = op("Mul", [op("MatMul", [qg, op("Transpose", [kk], perm=[0, 1, 2, 4, 3])]), const(np.float32(1 / np.sqrt(hd)))])
        a = op("MatMul", [op("Softmax", [op("Add", [s, bias])], axis=-1), vv])  # [B,G,rep,Lq,hd]
        a = op("Reshape", [op("Transpose", [op("Reshape", [a, const(np.array([0, H, -1, hd]))])], perm=[0, 2, 1, 3]),
                           const(np.array([0, 0, H * hd]))])
        x = op("Add", [x, linear(a, p + "o.weight")])
        h = rms(x, weights.load(p + "mlp_norm"))
        g = linear(h, p + "gate.weight")
        x = op("Add", [x, linear(op("Mul", [op("Mul", [g, op("Sigmoid", [g])]), linear(h, p + "up.weight")]), p + "down.weight")])
    x = rms(x, weights.load("final_norm"))
    sel = op("GatherND", [x, op("Unsqueeze", ["head_positions", const(np.array([-1]))])], batch_dims=1)
    logits = op("MatMul", [sel, const(np.ascontiguousarray(weights.load("embed" if spec.tied_embeddings else "lm_head").T))])
    probs = op("Softmax", [logits], axis=-1)
    nodes.append(helper.make_node("TopK", [probs, const(np.array([top_k]))], ["top_probs", "top_ids"], axis=-1))
    nodes.append(helper.make_node("Neg", [op("ReduceSum", [op("Mul", [probs, op("LogSoftmax", [logits], axis=-1)]), const(np.array([-1]))], keepdims=0)], ["entropy"]))
    nodes.append(helper.make_node("Concat", presents_k, ["present_keys"], axis=1))
    nodes.append(helper.make_node("Concat", presents_v, ["present_values"], axis=1))
    i64, f32 = TensorProto.INT64, TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info(nm, i64, ["B", dim]) for nm, dim in
              (("input_ids", "Lq"), ("positions", "Lq"), ("query_mask", "Lq"), ("past_mask", "Lc"), ("head_positions", "Lh"))]
    for i in range(N):
        inputs += [helper.make_tensor_value_info(f"past_{kv}_{i}", f32, ["B", G, "Lc", hd]) for kv in ("keys", "values")]
    outputs = [helper.make_tensor_value_info("top_ids", i64, ["B", "Lh", top_k]),
               helper.make_tensor_value_info("top_probs", f32, ["B", "Lh", top_k]),
               helper.make_tensor_value_info("entropy", f32, ["B", "Lh"]),
               helper.make_tensor_value_info("present_keys", f32, ["B", N, G, "Lq", hd]),
               helper.make_tensor_value_info("present_values", f32, ["B", N, G, "Lq", hd])]
    graph = helper.make_graph(nodes, "decoder", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, os.path.join(out_dir, "model.onnx"))
    return {
        "graphs": {"decoder": "model.onnx"}, "weights_dtype": "float32",
        "inputs": {"input_ids": "int64 [B, Lq]"},
        "outputs": {k: "see tools/import/spec.py" for k in ("top_ids", "top_probs", "entropy", "present_keys", "present_values")},
        "top_k": top_k,
        "cache": {"layers": N, "heads": G, "head_dim": hd, "d_model": D, "halo": 0},
    }
