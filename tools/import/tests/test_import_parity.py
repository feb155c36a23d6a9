"""The CLI end to end with parity at import, per family: tiny checkpoints in each real layout, the
real tokenizer metadata, a TEST-ONLY fp32 decoder graph (decoder_graph_for_tests.py, standing in for
graph_builder until it lands) run by the engine's own OrtDecoderForward through parity-run.ts, against
reference_stream.py. Checks the parity path and the bundle the engine loads, topology by topology."""
import io
import json
import os
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import importlib  # noqa: E402

import decoder_graph_for_tests  # noqa: E402
from sparse_checkpoint import placeholder_tokenizer  # noqa: E402
from test_families import FIXTURES, REAL, write_tiny  # noqa: E402

importer = importlib.import_module("import")
QWEN_TOK = os.path.join(FIXTURES, "Qwen__Qwen2.5-Coder-0.5B-Instruct")
VOCAB = {"llada": 126464, "dream": 152064, "fastdllm": 152064, "sdar": 151936, "qwen2": 151936}
TOKENIZER_META = ("tokenizer_config.json", "generation_config.json", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja")


def family_folder(folder: str, which: str, head_scale: float = 4.0) -> None:
    config, _ = write_tiny(folder, which, vocab=VOCAB[which], seed=7, head_scale=head_scale)
    if which == "fastdllm":  # a block of 4, so 12-token sequences cross blocks
        config["bd_size"] = 4
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f)
    real = os.path.join(FIXTURES, REAL[which])
    for f in TOKENIZER_META:
        if os.path.isfile(os.path.join(real, f)):
            shutil.copy(os.path.join(real, f), folder)
    if which == "llada":  # LLaDA's tokenizer.json is not among the fixtures
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            json.dump(placeholder_tokenizer(), f)
    else:
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(QWEN_TOK, f), folder)


class ImportParity(unittest.TestCase):
    def test_every_family_imports_with_fp32_parity(self):
        sys.modules["graph_builder"] = decoder_graph_for_tests
        try:
            for which in ("dream", "llada", "sdar", "fastdllm", "qwen2"):
                with self.subTest(family=which), tempfile.TemporaryDirectory() as tmp:
                    src, out = os.path.join(tmp, "hf"), os.path.join(tmp, "bundle")
                    family_folder(src, which)
                    err = io.StringIO()
                    with redirect_stderr(err):
                        code = importer.main(["--from", src, "--out", out, "--max-length", "512"])
                    self.assertEqual(code, 0, err.getvalue())
                    with open(os.path.join(out, "dllm.json")) as f:
                        parity = json.load(f)["parity"]
                    self.assertEqual(parity["positions"], 19)
                    self.assertEqual(parity["top1_agreement"], 1.0, parity)
                    self.assertLessEqual(parity["max_abs_dp_topk"], 1e-4, parity)
                    self.assertTrue(parity["fp32_targets_met"])
                    with open(os.path.join(out, "MODEL_CARD.md")) as f:
                        self.assertIn("fp32 targets (top-1 identical, max |dp| <= 0.0001): met", f.read())
        finally:
            del sys.modules["graph_builder"]


if __name__ == "__main__":
    unittest.main()
