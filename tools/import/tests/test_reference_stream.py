"""The import-time NumPy reference (reference_stream.py): each attention topology sees exactly what
spec.py says, grouped KV heads equal the same heads written out in full, and the head is a
distribution. (Its agreement with the PyTorch reference and the ONNX graph is measured at import.)"""
import dataclasses
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from families import open_checkpoint  # noqa: E402
from reference_stream import reference_head  # noqa: E402
from test_families import write_tiny  # noqa: E402


class RandomWeights:
    """Canonical weights, random but fixed, in memory."""

    def __init__(self, spec, seed=0):
        rng = np.random.default_rng(seed)
        self.spec = spec
        self.w = {n: (rng.standard_normal(spec.canonical_shape(n)) * 0.3).astype(np.float32) for n in spec.canonical_names()}
        for n in self.w:
            if n.endswith("norm"):
                self.w[n] = 1 + 0.1 * self.w[n]

    def load(self, name):
        return self.w[name]

    def names(self):
        return iter(self.spec.canonical_names())


class ReferenceStream(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.specs = {}
        for which in ("dream", "fastdllm", "sdar", "qwen2", "llada"):
            folder = os.path.join(self.tmp.name, which)
            write_tiny(folder, which)
            self.specs[which], _ = open_checkpoint(folder)

    def tearDown(self):
        self.tmp.cleanup()

    def changed_positions(self, spec, at: int, length: int = 10) -> list[int]:
        spec = dataclasses.replace(spec, block_size=4) if spec.attention == "block-causal" else spec
        w = RandomWeights(spec)
        ids = np.arange(length) % spec.vocab_size
        _, _, ent_a, _ = reference_head(spec, w, ids, 4)
        ids2 = ids.copy()
        ids2[at] = (ids2[at] + 7) % spec.vocab_size
        _, _, ent_b, _ = reference_head(spec, w, ids2, 4)
        return [p for p in range(length) if abs(ent_a[p] - ent_b[p]) > 1e-9]

    def test_topologies(self):
        self.assertEqual(self.changed_positions(self.specs["dream"], 5), list(range(10)))  # bidirectional
        self.assertEqual(self.changed_positions(self.specs["qwen2"], 5), [5, 6, 7, 8, 9])  # causal
        # block-causal, block 4: position 5 is in block 1 (4..7): blocks 1 and 2 see it, block 0 not
        self.assertEqual(self.changed_positions(self.specs["sdar"], 5), [4, 5, 6, 7, 8, 9])
        self.assertEqual(self.changed_positions(self.specs["fastdllm"], 5), [4, 5, 6, 7, 8, 9])

    def test_grouped_kv_equals_full_heads(self):
        spec = self.specs["dream"]  # 4 query heads, 2 key/value heads
        w = RandomWeights(spec)
        full = dataclasses.replace(spec, n_kv_heads=spec.n_heads)
        wf = RandomWeights(full)
        wf.w = dict(w.w)
        hd, rep = spec.head_dim, spec.n_heads // spec.n_kv_heads
        for i in range(spec.n_layers):
            for n in ("k", "v"):
                wt = w.w[f"layers.{i}.{n}.weight"].reshape(spec.n_kv_heads, hd, -1)
                wf.w[f"layers.{i}.{n}.weight"] = np.repeat(wt, rep, axis=0).reshape(spec.n_heads * hd, -1)
                b = w.w[f"layers.{i}.{n}.bias"].reshape(spec.n_kv_heads, hd)
                wf.w[f"layers.{i}.{n}.bias"] = np.repeat(b, rep, axis=0).reshape(-1)
        ids = np.array([3, 1, 4, 1, 5, 9, 2, 6])
        a = reference_head(spec, w, ids, 5)
        b = reference_head(full, wf, ids, 5)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[3], b[3], atol=1e-6)

    def test_head_is_a_distribution(self):
        for which, spec in self.specs.items():
            with self.subTest(family=which):
                ids, probs, ent, full = reference_head(spec, RandomWeights(spec), np.array([1, 2, 3, 4, 5]), 8)
                np.testing.assert_allclose(full.sum(-1), 1, atol=1e-12)
                self.assertTrue(np.all(np.diff(probs, axis=-1) <= 0))
                np.testing.assert_array_equal(ids[:, 0], full.argmax(-1))
                self.assertTrue(np.all((ent > 0) & (ent <= np.log(spec.vocab_size) + 1e-9)))


if __name__ == "__main__":
    unittest.main()
