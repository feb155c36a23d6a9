"""open_checkpoint on tiny checkpoints in each family's real layout (config.json taken from the real
fixture, dimensions shrunk): each canonical name loads exactly the tensor stored under the family's
checkpoint name, and each bad input fails with one clear error."""
import json
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from families import NAME_MAPS, QWEN_LAYOUTS, open_checkpoint, read_config, spec_from_config  # noqa: E402
from safetensors_reader import CheckpointError  # noqa: E402
from st_write import write_file, write_sharded  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "hf")
SHRINK = {
    "llada": {"d_model": 32, "n_heads": 4, "n_kv_heads": 4, "n_layers": 2, "mlp_hidden_size": 48,
              "embedding_size": 96, "vocab_size": 96},
    "qwen": {"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
             "intermediate_size": 48, "vocab_size": 96, "layer_types": ["full_attention"] * 2},
}
REAL = {
    "llada": "GSAI-ML__LLaDA-8B-Instruct", "dream": "Dream-org__Dream-v0-Instruct-7B",
    "fastdllm": "Efficient-Large-Model__Fast_dLLM_v2_7B", "fastdllm-tied": "Efficient-Large-Model__Fast_dLLM_v2_1.5B",
    "sdar": "JetLM__SDAR-4B-Chat", "qwen2": "Qwen__Qwen2.5-Coder-0.5B-Instruct",
}


def tiny_config(which: str, vocab: int | None = None) -> dict:
    config = read_config(os.path.join(FIXTURES, REAL[which]))
    config.update(SHRINK["llada" if which == "llada" else "qwen"])
    if vocab:  # the real vocabulary size, so the real tokenizer's special ids fit
        config.update({"vocab_size": vocab, **({"embedding_size": vocab} if which == "llada" else {})})
    if which == "sdar":
        config["head_dim"] = 16  # differs from hidden/heads = 8: head_dim must come from the config
    return config


def write_tiny(folder: str, which: str, dtype: str = "BF16", shards: int = 2, vocab: int | None = None,
               seed: int | None = None, head_scale: float = 4.0) -> tuple[dict, dict]:
    """A checkpoint whose every tensor is distinct (value = its index + position), so a swapped
    name or a transpose shows; with a seed, random weights scaled like a trained model's instead (for
    forward passes). Returns (config, {checkpoint name: array})."""
    config = tiny_config(which, vocab)
    spec, _ = spec_from_config(config)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    tensors = {}
    rng = np.random.default_rng(seed) if seed is not None else None
    for i, (canon, name) in enumerate(NAME_MAPS[spec.family](spec).items()):
        shape = spec.canonical_shape(canon)
        if rng is None:
            tensors[name] = (i + np.arange(int(np.prod(shape))).reshape(shape) / 256.0).astype(np.float32)
        elif canon.endswith("norm"):
            tensors[name] = (1 + 0.2 * rng.standard_normal(shape)).astype(np.float32)
        else:  # scaled like a trained layer, so the output depends on every input token
            tensors[name] = (rng.standard_normal(shape) / np.sqrt(shape[-1]) * (head_scale if canon in ("embed", "lm_head") else 1.0)).astype(np.float32)
    if shards:
        write_sharded(folder, tensors, shards, dtype)
    else:
        write_file(os.path.join(folder, "model.safetensors"), tensors, dtype)
    return config, tensors


class Families(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def folder(self, name="m"):
        return os.path.join(self.tmp.name, name)

    def test_each_family_loads_every_tensor_under_its_name(self):
        for which in REAL:
            with self.subTest(family=which):
                folder = self.folder(which)
                _, tensors = write_tiny(folder, which, shards=0 if which == "qwen2" else 2)
                spec, weights = open_checkpoint(folder)
                names = list(weights.names())
                self.assertEqual(names, spec.canonical_names())
                self.assertEqual(sorted(weights.mapping.values()), sorted(tensors))
                for canon in names:
                    got = weights.load(canon)
                    self.assertEqual(got.dtype, np.float32)
                    self.assertEqual(got.shape, spec.canonical_shape(canon))
                    # small integers/256 are exact in bf16 only up to 8 significant bits; compare at bf16 precision
                    np.testing.assert_allclose(got, tensors[weights.mapping[canon]], rtol=2**-8)
                self.assertEqual("lm_head" in names, which not in ("fastdllm-tied", "qwen2"))
                if which == "sdar":
                    self.assertEqual(spec.canonical_shape("layers.0.q.weight"), (4 * 16, 32))
                    self.assertEqual(spec.canonical_shape("layers.0.q_norm"), (16,))

    def test_qwen2_and_qwen3_maps_differ_only_where_the_layouts_say(self):
        spec2, _ = spec_from_config(tiny_config("dream"))
        spec3, _ = spec_from_config(tiny_config("sdar"))
        self.assertEqual((spec2.qkv_bias, spec2.qk_norm), (QWEN_LAYOUTS["qwen2"].qkv_bias, QWEN_LAYOUTS["qwen2"].qk_norm))
        self.assertEqual((spec3.qkv_bias, spec3.qk_norm), (QWEN_LAYOUTS["qwen3"].qkv_bias, QWEN_LAYOUTS["qwen3"].qk_norm))
        m2, m3 = NAME_MAPS["qwen2"](spec2), NAME_MAPS["qwen3"](spec3)
        shared = {k: v for k, v in m2.items() if k in m3}
        self.assertEqual(shared, {k: v for k, v in m3.items() if k in m2})  # same checkpoint names
        only2 = sorted(set(m2.values()) - set(m3.values()))
        only3 = sorted(set(m3.values()) - set(m2.values()))
        # (the tiny Dream config unties its head, the tiny SDAR one too: no lm_head difference)
        self.assertEqual(only2, sorted(f"model.layers.{i}.self_attn.{p}_proj.bias" for i in range(2) for p in "qkv"))
        self.assertEqual(only3, sorted(f"model.layers.{i}.self_attn.{p}_norm.weight" for i in range(2) for p in "qk"))

    def test_qwen3_attention_bias_is_refused(self):
        config = tiny_config("sdar")
        config["attention_bias"] = True
        with self.assertRaisesRegex(CheckpointError, r"not supported: attention_bias = true on a qwen3-layout model"):
            spec_from_config(config)

    def test_tied_model_with_a_stored_head_ignores_it_with_a_reason(self):
        folder = self.folder()
        config, tensors = write_tiny(folder, "qwen2", shards=0)
        tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"]
        write_file(os.path.join(folder, "model.safetensors"), tensors)
        _, weights = open_checkpoint(folder)
        self.assertIn("tied", weights.ignored["lm_head.weight"])

    def test_leftover_tensor_is_an_error(self):
        folder = self.folder()
        _, tensors = write_tiny(folder, "dream", shards=0)
        tensors["model.layers.1.self_attn.o_proj.bias"] = np.zeros(32, np.float32)
        write_file(os.path.join(folder, "model.safetensors"), tensors)
        with self.assertRaisesRegex(CheckpointError, r"1 checkpoint tensors have no place in the qwen2 layout: model\.layers\.1\.self_attn\.o_proj\.bias"):
            open_checkpoint(folder)

    def test_dtype_mismatch_with_config(self):
        folder = self.folder()
        write_tiny(folder, "sdar", dtype="F32")  # config says torch_dtype bfloat16
        with self.assertRaisesRegex(CheckpointError, r"model-0000[12]-of-00002\.safetensors: tensor '.*' is stored as F32, but .*config\.json says torch_dtype 'bfloat16'"):
            open_checkpoint(folder)

    def test_shape_mismatch_with_config(self):
        folder = self.folder()
        config, _ = write_tiny(folder, "llada")
        config["mlp_hidden_size"] = 64
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f)
        with self.assertRaisesRegex(CheckpointError, r"tensor 'model\.transformer\.blocks\.0\.ff_proj\.weight' has shape \[48, 32\], but .*config\.json implies \[64, 32\] for layers\.0\.gate\.weight"):
            open_checkpoint(folder)

    def test_missing_config(self):
        with self.assertRaisesRegex(CheckpointError, r"missing config\.json"):
            open_checkpoint(self.tmp.name)

    def test_max_length(self):
        spec, _ = spec_from_config(tiny_config("llada"), max_length=1024)
        self.assertEqual(spec.max_length, 1024)
        with self.assertRaisesRegex(CheckpointError, r"--max-length 8192 exceeds the model's trained context 4096"):
            spec_from_config(tiny_config("llada"), max_length=8192)


if __name__ == "__main__":
    unittest.main()
