"""Special ids from the real fixtures' config / generation_config / tokenizer files."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from families import read_config, spec_from_config  # noqa: E402
from safetensors_reader import CheckpointError  # noqa: E402
from special_tokens import special_ids  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "hf")

EXPECTED = {  # mask, eos, eos_ids, pad, bos
    "GSAI-ML__LLaDA-8B-Instruct": (126336, 126081, [126081, 126348], 126081, 126080),
    "GSAI-ML__LLaDA-8B-Base": (126336, 126081, [126081], 126081, 126080),
    "Dream-org__Dream-v0-Instruct-7B": (151666, 151643, [151643, 151645], 151643, 151665),
    "Efficient-Large-Model__Fast_dLLM_v2_7B": (151665, 151645, [151645, 151643], 151645, None),
    "JetLM__SDAR-4B-Chat": (151669, 151643, [151643, 151645], 151643, None),
    "JetLM__SDAR-1.7B-Chat": (151669, 151643, [151643, 151645], 151643, None),
    "Qwen__Qwen2.5-Coder-0.5B-Instruct": (151643, 151645, [151645, 151643], 151643, None),
    "Qwen__Qwen2.5-0.5B": (151643, 151643, [151643, 151645], 151643, None),
}


class SpecialIds(unittest.TestCase):
    def test_real_fixtures(self):
        for name, want in EXPECTED.items():
            with self.subTest(checkpoint=name):
                folder = os.path.join(FIXTURES, name)
                config = read_config(folder)
                spec, _ = spec_from_config(config)
                got = special_ids(folder, config, spec.kind, spec.vocab_size)
                self.assertEqual((got["mask"], got["eos"], got["eos_ids"], got["pad"], got["bos"]), want)
                self.assertTrue(all(got["sources"].values()), got["sources"])

    def test_mask_sources(self):
        s = special_ids(os.path.join(FIXTURES, "JetLM__SDAR-4B-Chat"), read_config(os.path.join(FIXTURES, "JetLM__SDAR-4B-Chat")), "masked-diffusion", 151936)
        self.assertEqual(s["sources"]["mask"], "tokenizer_config.json mask_token '<|MASK|>'")
        s = special_ids(os.path.join(FIXTURES, "Efficient-Large-Model__Fast_dLLM_v2_7B"), read_config(os.path.join(FIXTURES, "Efficient-Large-Model__Fast_dLLM_v2_7B")), "masked-diffusion", 152064)
        self.assertEqual(s["sources"]["mask"], "added token '|<MASK>|'")

    def test_diffusion_model_without_mask_is_refused(self):
        folder = os.path.join(FIXTURES, "Qwen__Qwen2.5-0.5B")
        with self.assertRaisesRegex(CheckpointError, r"no mask token: config.json has no mask_token_id"):
            special_ids(folder, read_config(folder), "masked-diffusion", 151936)

    def test_id_outside_vocab_is_refused(self):
        folder = os.path.join(FIXTURES, "GSAI-ML__LLaDA-8B-Instruct")
        with self.assertRaisesRegex(CheckpointError, r"mask token id 126336 is outside the model's vocabulary \(1000\)"):
            special_ids(folder, read_config(folder), "masked-diffusion", 1000)


if __name__ == "__main__":
    unittest.main()
