"""The streaming safetensors reader: dtype conversion against torch, shards via the index, and one
clear error (file and tensor named) for each kind of broken checkpoint."""
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import safetensors_reader  # noqa: E402
from safetensors_reader import CheckpointError, SafetensorsCheckpoint, read_header  # noqa: E402
from st_write import write_file, write_sharded  # noqa: E402


def put(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)


class Reader(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        rng = np.random.default_rng(0)
        # values chosen to exercise rounding, subnormals-ish magnitudes, signs, inf
        self.a = (rng.standard_normal((7, 5)) * 10.0 ** rng.integers(-6, 6, (7, 5))).astype(np.float32)

    def tearDown(self):
        self.tmp.cleanup()

    def test_bf16_f16_f32_match_torch(self):
        path = os.path.join(self.dir, "model.safetensors")
        write_file(path, {"b": self.a, "h": self.a, "f": self.a}, dtypes={"b": "BF16", "h": "F16", "f": "F32"})
        ck = SafetensorsCheckpoint(self.dir)
        t = torch.from_numpy(self.a)
        np.testing.assert_array_equal(ck.read("b"), t.to(torch.bfloat16).to(torch.float32).numpy())
        np.testing.assert_array_equal(ck.read("h"), t.to(torch.float16).to(torch.float32).numpy())
        np.testing.assert_array_equal(ck.read("f"), self.a)
        for n in "bhf":
            self.assertEqual(ck.read(n).dtype, np.float32)
            self.assertEqual(ck.read(n).shape, (7, 5))

    def test_chunked_reads_give_the_same_tensor(self):
        path = os.path.join(self.dir, "model.safetensors")
        write_file(path, {"b": self.a, "f": self.a}, dtypes={"b": "BF16", "f": "F32"})
        whole = {n: SafetensorsCheckpoint(self.dir).read(n) for n in "bf"}
        saved = safetensors_reader.CHUNK_BYTES
        safetensors_reader.CHUNK_BYTES = 6  # 3 bf16 / 1 f32 values a chunk, not a divisor of 35
        try:
            for n in "bf":
                np.testing.assert_array_equal(SafetensorsCheckpoint(self.dir).read(n), whole[n])
        finally:
            safetensors_reader.CHUNK_BYTES = saved

    def test_sharded_index(self):
        tensors = {f"t{i}": np.full((3, i + 1), i, np.float32) for i in range(5)}
        wm = write_sharded(self.dir, tensors, shards=3)
        ck = SafetensorsCheckpoint(self.dir)
        self.assertEqual(sorted(ck.names()), sorted(tensors))
        self.assertEqual(len(set(wm.values())), 3)
        for n, a in tensors.items():
            np.testing.assert_array_equal(ck.read(n), a)

    def test_missing_shard_is_named(self):
        write_sharded(self.dir, {"a": self.a, "b": self.a}, shards=2)
        os.remove(os.path.join(self.dir, "model-00002-of-00002.safetensors"))
        with self.assertRaisesRegex(CheckpointError, r"shard 'model-00002-of-00002.safetensors' is named by the index .*'b'.* does not exist"):
            SafetensorsCheckpoint(self.dir)

    def test_tensor_missing_from_its_shard(self):
        write_sharded(self.dir, {"a": self.a, "b": self.a}, shards=2)
        idx = os.path.join(self.dir, "model.safetensors.index.json")
        with open(idx) as f:
            index = json.load(f)
        index["weight_map"]["c"] = "model-00001-of-00002.safetensors"
        with open(idx, "w") as f:
            json.dump(index, f)
        with self.assertRaisesRegex(CheckpointError, r"model-00001-of-00002.safetensors: tensor 'c' is missing"):
            SafetensorsCheckpoint(self.dir)

    def test_no_weights(self):
        with self.assertRaisesRegex(CheckpointError, r"no weights: expected model.safetensors.index.json"):
            SafetensorsCheckpoint(self.dir)

    def test_corrupt_headers(self):
        path = os.path.join(self.dir, "model.safetensors")
        cases = {
            b"\x01\x02": r"shorter than the 8-byte header length",
            (10**12).to_bytes(8, "little") + b"{}": r"header length field says 1000000000000 bytes",
            (5).to_bytes(8, "little") + b"{nope": r"corrupt safetensors header: not JSON",
            (2).to_bytes(8, "little") + b"[]": r"expected a JSON object",
        }
        for raw, msg in cases.items():
            with self.subTest(msg=msg):
                put(path, raw)
                with self.assertRaisesRegex(CheckpointError, path.replace(".", r"\.") + ".*" + msg):
                    read_header(path)
        # offsets that disagree with dtype x shape, and data past the end of the file
        h = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}).encode()
        put(path, len(h).to_bytes(8, "little") + h + b"\0" * 12)
        with self.assertRaisesRegex(CheckpointError, r"tensor 'w' F32\[2, 2\] needs 16 bytes, data_offsets give 12"):
            read_header(path)
        h = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
        put(path, len(h).to_bytes(8, "little") + h + b"\0" * 8)
        with self.assertRaisesRegex(CheckpointError, r"truncated: tensor 'w' ends at byte"):
            read_header(path)
        h = json.dumps({"w": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]}}).encode()
        put(path, len(h).to_bytes(8, "little") + h + b"\0" * 4)
        with self.assertRaisesRegex(CheckpointError, r"tensor 'w' has dtype I8; supported weight dtypes are BF16, F16, F32"):
            read_header(path)


if __name__ == "__main__":
    unittest.main()
