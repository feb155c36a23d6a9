"""Real-shape checks against the real Hugging Face metadata in tools/import/fixtures/hf (a byte-for-byte copy of the shared fixtures, see its SOURCES.md; or
$DLLM_HF_FIXTURES): for every checkpoint with a model.safetensors.index.json, every tensor of the
real index maps to exactly one canonical name, none is left over, none missing, and the shapes the
spec derives from the real config are the published ones (the index has no shapes; the published
figures below come from REFERENCES.md and the model cards)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from families import match_names, read_config, spec_from_config  # noqa: E402
from safetensors_reader import CheckpointError  # noqa: E402

FIXTURES = os.environ.get("DLLM_HF_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures", "hf"))

# Published shapes (REFERENCES.md "Real checkpoints"): (layers, d, heads, kv heads, head_dim, mlp, vocab)
PUBLISHED = {
    "GSAI-ML__LLaDA-8B-Instruct": (32, 4096, 32, 32, 128, 12288, 126464),
    "GSAI-ML__LLaDA-8B-Base": (32, 4096, 32, 32, 128, 12288, 126464),
    "Dream-org__Dream-v0-Instruct-7B": (28, 3584, 28, 4, 128, 18944, 152064),
    "Efficient-Large-Model__Fast_dLLM_v2_7B": (28, 3584, 28, 4, 128, 18944, 152064),
    "JetLM__SDAR-4B-Chat": (36, 2560, 32, 8, 128, 9728, 151936),
}
# Total bytes of the bf16 weights per index metadata.total_size, to check the derived shapes add up.
BYTES_PER_PARAM = 2


def fixture_dirs():
    if not os.path.isdir(FIXTURES):
        return []
    return sorted(d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "model.safetensors.index.json")))


class RealIndexes(unittest.TestCase):
    def test_fixtures_present(self):
        self.assertGreaterEqual(len(fixture_dirs()), 5, f"expected the real indexes under {FIXTURES}")

    def test_every_real_index_maps_exactly(self):
        for name in fixture_dirs():
            with self.subTest(checkpoint=name):
                folder = os.path.join(FIXTURES, name)
                spec, variant = spec_from_config(read_config(folder))
                with open(os.path.join(folder, "model.safetensors.index.json")) as f:
                    index = json.load(f)
                weight_map = index["weight_map"]
                match = match_names(spec, weight_map.keys(), folder)
                # exclusivity and completeness: a bijection between canonical names and index names
                self.assertEqual(sorted(match.mapping), sorted(spec.canonical_names()))
                self.assertEqual(len(set(match.mapping.values())), len(match.mapping))
                self.assertEqual(set(match.mapping.values()) | set(match.ignored), set(weight_map))
                self.assertEqual(match.ignored, {})
                # derived shapes add up to the checkpoint's total size (bf16)
                params = sum(int.__mul__(*((spec.canonical_shape(c) + (1,))[:2])) for c in match.mapping)
                self.assertEqual(params * BYTES_PER_PARAM, index["metadata"]["total_size"], name)
                L, D, H, G, hd, F, V = PUBLISHED[name]
                self.assertEqual((spec.n_layers, spec.d_model, spec.n_heads, spec.n_kv_heads, spec.head_dim,
                                  spec.mlp_hidden, spec.vocab_size), (L, D, H, G, hd, F, V))
                self.assertEqual(spec.canonical_shape("layers.0.k.weight"), (G * hd, D))
                self.assertEqual(spec.canonical_shape("layers.0.o.weight"), (D, H * hd))
                self.assertEqual(spec.canonical_shape("layers.0.down.weight"), (D, F))

    def test_family_facts(self):
        got = {}
        for name in sorted(os.listdir(FIXTURES)):
            if os.path.isfile(os.path.join(FIXTURES, name, "config.json")):
                spec, _ = spec_from_config(read_config(os.path.join(FIXTURES, name)))
                got[name] = (spec.family, spec.kind, spec.attention, spec.block_size, spec.shift_logits,
                             spec.qkv_bias, spec.qk_norm, spec.tied_embeddings)
        self.assertEqual(got["GSAI-ML__LLaDA-8B-Instruct"], ("llada", "masked-diffusion", "bidirectional", None, False, False, False, False))
        self.assertEqual(got["Dream-org__Dream-v0-Instruct-7B"], ("qwen2", "masked-diffusion", "bidirectional", None, True, True, False, False))
        self.assertEqual(got["Efficient-Large-Model__Fast_dLLM_v2_7B"], ("qwen2", "masked-diffusion", "block-causal", 32, True, True, False, False))
        self.assertEqual(got["Efficient-Large-Model__Fast_dLLM_v2_1.5B"], ("qwen2", "masked-diffusion", "block-causal", 32, True, True, False, True))
        self.assertEqual(got["JetLM__SDAR-4B-Chat"], ("qwen3", "masked-diffusion", "block-causal", 4, False, False, True, False))
        self.assertEqual(got["JetLM__SDAR-1.7B-Chat"], ("qwen3", "masked-diffusion", "block-causal", 4, False, False, True, False))
        self.assertEqual(got["Qwen__Qwen2.5-Coder-0.5B-Instruct"], ("qwen2", "autoregressive", "causal", None, True, True, False, True))

    def test_a_tensor_too_many_or_too_few_is_named(self):
        folder = os.path.join(FIXTURES, "JetLM__SDAR-4B-Chat")
        spec, _ = spec_from_config(read_config(folder))
        with open(os.path.join(folder, "model.safetensors.index.json")) as f:
            names = set(json.load(f)["weight_map"])
        with self.assertRaisesRegex(CheckpointError, r"model\.layers\.3\.self_attn\.q_norm\.weight"):
            match_names(spec, names - {"model.layers.3.self_attn.q_norm.weight"}, folder)
        with self.assertRaisesRegex(CheckpointError, r"no place in the qwen3 layout: model\.layers\.0\.mlp\.extra\.weight"):
            match_names(spec, names | {"model.layers.0.mlp.extra.weight"}, folder)
        m = match_names(spec, names | {"model.layers.0.self_attn.rotary_emb.inv_freq"}, folder)
        self.assertIn("model.layers.0.self_attn.rotary_emb.inv_freq", m.ignored)

    def test_llada_sequential_block_is_refused(self):
        config = read_config(os.path.join(FIXTURES, "GSAI-ML__LLaDA-8B-Instruct"))
        with self.assertRaisesRegex(CheckpointError, r'block_type .sequential.*only "llama"'):
            spec_from_config({**config, "block_type": "sequential"})

    def test_unknown_architecture_names_what_was_found(self):
        with self.assertRaisesRegex(CheckpointError, r"architectures \['MistralForCausalLM'\], model_type 'mistral'.*Supported: LLaDA"):
            spec_from_config({"architectures": ["MistralForCausalLM"], "model_type": "mistral"})


if __name__ == "__main__":
    unittest.main()
