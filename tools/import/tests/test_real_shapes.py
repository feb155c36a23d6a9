"""The FULL-SIZE graph of every real checkpoint in the fixtures (real config.json + index, no weights;
for the single-file 0.5B-1.7B ones, whose safetensors header is not a fixture, the family's names):
graph_builder builds it from zero-strided placeholder weights (write_weights=False, no memory, no
data written), weights.bin is a sparse file of the exact length (a hole: no disk), and then

  * onnx.checker accepts the model file (external data offsets and lengths inside weights.bin),
  * ONNX shape inference (strict) runs through it and gives the outputs their contract shapes
    (spec.py) with the real dimensions, fp32 and fp16 (int4's MatMulNBits is a com.microsoft op the
    onnx package has no shape function for: its initializers are checked, not inferred),
  * every tensor of the real index lands in exactly the initializer meant for it, with the shape the
    real config implies (fused q/k/v and gate/up columns add up), and no weight initializer is left
    without a checkpoint tensor.

Runs in seconds (the 8B graphs are a few hundred kB of protobuf). By hand, for one folder:
    /usr/bin/python3 tools/import/graph_builder.py HF_DIR OUT --no-weights [--dtype fp16]
"""
import json
import os
import sys
import tempfile
import unittest
from pathlib import Path

import onnx
from onnx import shape_inference

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from families import NAME_MAPS, match_names, read_config, spec_from_config  # noqa: E402
from graph_builder import INT4_BLOCK, MODEL_FILE, WEIGHTS_FILE, ZeroWeights, build_decoder  # noqa: E402
from spec import TOP_K  # noqa: E402
from test_real_indexes import FIXTURES, fixture_dirs  # noqa: E402

MAX_LENGTH = 4096  # the importer's default cap (import.py DEFAULT_MAX_LENGTH)


def expected_initializers(spec, dtype: str) -> dict[str, tuple]:
    """Weight initializer name -> shape, as graph_builder lays each canonical tensor out (fused
    q/k/v and gate/up, transposed [in, out] MatMul weights, the head kept [V, D] for Gemm transB)."""
    D, hd, F, V = spec.d_model, spec.head_dim, spec.mlp_hidden, spec.vocab_size
    q, kv = spec.n_heads * hd, spec.n_kv_heads * hd
    out: dict[str, tuple] = {}

    def stored(name, shape):  # norms, the embedding: fp16 copies for fp16/int4 (tiny ones stay fp32 inline)
        n = 1
        for d in shape:
            n *= d
        out[name if dtype == "fp32" or n <= 64 else name + ".fp16"] = shape

    def linear(name, n_out, k_in):
        if dtype == "int4":
            kb = -(-k_in // INT4_BLOCK)
            out[name + ".q4"], out[name + ".scales"] = (n_out, kb, INT4_BLOCK // 2), (n_out * kb,)
        else:
            stored(name + ".weight_t", (k_in, n_out))

    stored("embed", (V, D))
    for i in range(spec.n_layers):
        p = f"layers.{i}."
        stored(p + "attn_norm", (D,))
        linear(p + "qkv", q + 2 * kv, D)
        if spec.qkv_bias:
            out[p + "qkv.bias"] = (q + 2 * kv,)
        if spec.qk_norm:
            stored(p + "q_norm", (hd,))
            stored(p + "k_norm", (hd,))
        linear(p + "o", D, q)
        stored(p + "mlp_norm", (D,))
        linear(p + "gate_up", 2 * F, D)
        linear(p + "down", D, F)
    stored("final_norm", (D,))
    if dtype == "int4":
        linear("lm_head", V, D)
    elif not spec.tied_embeddings:
        stored("lm_head", (V, D))
    return out


FUSED = {"q.weight": "qkv", "k.weight": "qkv", "v.weight": "qkv", "q.bias": "qkv.bias", "k.bias": "qkv.bias",
         "v.bias": "qkv.bias", "gate.weight": "gate_up", "up.weight": "gate_up", "o.weight": "o", "down.weight": "down"}
SUFFIXES = (".fp16", ".q4", ".scales", ".weight_t")


def home_of(canonical: str) -> str:
    """The initializer stem that holds a canonical tensor (q/k/v and gate/up are fused)."""
    if not canonical.startswith("layers."):
        return canonical
    _, i, leaf = canonical.split(".", 2)
    return f"layers.{i}.{FUSED.get(leaf, leaf)}"


def stem(initializer: str) -> str:
    while initializer.endswith(SUFFIXES):
        initializer = initializer.rsplit(".", 1)[0]
    return initializer


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


class RealShapes(unittest.TestCase):
    def test_full_size_graph_of_every_real_checkpoint(self):
        self.assertGreaterEqual(len(fixture_dirs()), 5)
        folders = sorted(d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "config.json")))
        self.assertGreaterEqual(len(folders), 9)
        for name in folders:
            folder = os.path.join(FIXTURES, name)
            spec, _ = spec_from_config(read_config(folder), None)
            spec, _ = spec_from_config(read_config(folder), min(spec.max_length, MAX_LENGTH))
            index_file = os.path.join(folder, "model.safetensors.index.json")
            if os.path.isfile(index_file):  # the real tensor names
                with open(index_file) as f:
                    index = json.load(f)["weight_map"]
            else:  # a single-file checkpoint (0.5B-1.7B): its header is not among the fixtures
                index = dict.fromkeys(NAME_MAPS[spec.family](spec).values(), "model.safetensors")
            mapping = match_names(spec, index.keys(), folder).mapping  # canonical -> checkpoint name
            for dtype in ("fp32", "fp16", "int4"):
                with self.subTest(checkpoint=name, dtype=dtype), tempfile.TemporaryDirectory() as tmp:
                    frag = build_decoder(spec, ZeroWeights(spec), Path(tmp), dtype, TOP_K, write_weights=False)
                    with open(os.path.join(tmp, WEIGHTS_FILE), "wb") as f:
                        f.truncate(frag["weights_bytes"])  # a hole of the exact size: no disk
                    onnx.checker.check_model(os.path.join(tmp, MODEL_FILE))
                    model = onnx.load(os.path.join(tmp, MODEL_FILE), load_external_data=False)

                    # every checkpoint tensor has its initializer, every weight initializer a tensor
                    inits = {t.name: tuple(t.dims) for t in model.graph.initializer}
                    want = expected_initializers(spec, dtype)
                    weights = {n: s for n, s in inits.items() if not n.startswith(("c", "rope_"))}
                    self.assertEqual(sorted(weights), sorted(want), "weight initializers")
                    for n, shape in want.items():
                        self.assertEqual(weights[n], shape, n)
                    homes = {home_of(c) for c in mapping}
                    stems = {stem(n) for n in want}
                    if spec.tied_embeddings and dtype == "int4":
                        homes.add("lm_head")  # int4 quantizes the tied embedding again as the head
                    self.assertEqual(homes, stems, "checkpoint tensors vs initializers")
                    self.assertEqual(sorted(mapping.values()), sorted(index), "index tensors used")
                    # fused columns add up: q, k, v rows -> the qkv output width
                    q, k, v = (spec.canonical_shape(f"layers.0.{x}.weight")[0] for x in "qkv")
                    qkv = want["layers.0.qkv.q4" if dtype == "int4" else
                               ("layers.0.qkv.weight_t" if dtype == "fp32" else "layers.0.qkv.weight_t.fp16")]
                    self.assertEqual(qkv[0 if dtype == "int4" else 1], q + k + v)
                    self.assertEqual(inits["rope_cos"], (spec.max_length, spec.head_dim))

                    if dtype == "int4":
                        continue
                    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
                    outs = {o.name: dims(o) for o in inferred.graph.output}
                    N, G, hd = spec.n_layers, spec.n_kv_heads, spec.head_dim
                    self.assertEqual(outs["top_ids"], ["B", "Lh", TOP_K])
                    self.assertEqual(outs["top_probs"], ["B", "Lh", TOP_K])
                    self.assertEqual(outs["entropy"], ["B", "Lh"])
                    self.assertEqual(outs["present_keys"], ["B", N, G, "Lq", hd])
                    self.assertEqual(outs["present_values"], ["B", N, G, "Lq", hd])
                    vi = {v.name: dims(v) for v in inferred.graph.value_info}
                    # the last layer's hidden state and the head's input keep the real width
                    self.assertEqual(vi[f"hidden_{N - 1}"][-1], spec.d_model)
                    self.assertEqual(vi["final_norm_out"], ["B", "Lh", spec.d_model])
                    self.assertEqual(vi["layers.0.qkv"][-1], q + k + v)


if __name__ == "__main__":
    unittest.main()
