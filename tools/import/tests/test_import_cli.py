"""`npm run import` (tools/import/import.py): each bad input gives one clear error (what and where),
a non-zero exit and no partial bundle; a good input (with a stand-in graph builder, since this test
is about the CLI, not the graph) writes a bundle the engine's own loader accepts."""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
import unittest
from contextlib import redirect_stderr

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import importlib  # noqa: E402

from test_families import FIXTURES, write_tiny  # noqa: E402

IMPORT_PY = os.path.join(os.path.dirname(__file__), "..", "import.py")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
QWEN_TOK = os.path.join(FIXTURES, "Qwen__Qwen2.5-Coder-0.5B-Instruct")
DREAM = os.path.join(FIXTURES, "Dream-org__Dream-v0-Instruct-7B")
importer = importlib.import_module("import")


def dream_folder(folder: str, **kw) -> None:
    """A tiny Dream-layout checkpoint with the real Dream tokenizer metadata and the real Qwen2
    vocab.json + merges.txt (Dream ships the same slow files)."""
    write_tiny(folder, "dream", vocab=152064, **kw)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(QWEN_TOK, f), folder)
    for f in ("tokenizer_config.json", "generation_config.json", "special_tokens_map.json", "added_tokens.json"):
        shutil.copy(os.path.join(DREAM, f), folder)
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("---\nlicense: apache-2.0\n---\n# tiny\n")


class StandInBuilder:
    """Writes placeholder graph files and the fragment graph_builder.build_decoder documents; can fail
    part-way, after writing, to prove no partial bundle survives."""

    def __init__(self, fail: bool = False, echo: dict | None = None):
        self.fail = fail
        self.echo = echo or {}  # fields the real builder also returns (e.g. attention)
        self.loaded = []

    def build_decoder(self, spec, weights, out_dir, dtype, top_k, write_weights, **_int4_options):
        with open(os.path.join(out_dir, "weights.bin"), "wb") as f:
            for name in weights.names():
                self.loaded.append(name)
                f.write(weights.load(name).astype("<f4").tobytes())
                if self.fail and len(self.loaded) == 5:
                    raise RuntimeError("builder failed half-way")
        with open(os.path.join(out_dir, "model.onnx"), "wb") as f:
            f.write(b"placeholder")
        return {
            "graphs": {"decoder": "model.onnx"}, "weights": "weights.bin", "weights_dtype": "float32",
            "inputs": {"input_ids": "int64 [B, Lq]"},
            "outputs": {n: "..." for n in ("top_ids", "top_probs", "entropy", "present_keys", "present_values")},
            "top_k": top_k,
            "cache": {"layers": spec.n_layers, "heads": spec.n_kv_heads, "head_dim": spec.head_dim, "d_model": spec.d_model, "halo": 0},
            **self.echo,
        }


class ImportCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.tmp.name, "hf")
        self.models = os.path.join(self.tmp.name, "models")
        os.mkdir(self.models)
        self.out = os.path.join(self.models, "tiny")

    def tearDown(self):
        self.tmp.cleanup()

    def cli(self, *extra):
        run = subprocess.run([sys.executable, IMPORT_PY, "--from", self.src, "--out", self.out, "--no-parity", *extra],
                             capture_output=True, text=True, timeout=120)
        return run.returncode, run.stderr

    def assert_refused(self, pattern: str, *extra):
        code, err = self.cli(*extra)
        self.assertNotEqual(code, 0, err)
        self.assertRegex(err, pattern)
        self.assertEqual(len([ln for ln in err.splitlines() if "error" in ln]), 1, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(os.listdir(self.models), [], "no partial bundle, no temporary folder left")

    def test_missing_config(self):
        dream_folder(self.src)
        os.remove(os.path.join(self.src, "config.json"))
        self.assert_refused(r"import: error: .*/hf: missing config\.json")

    def test_missing_tokenizer_files(self):
        dream_folder(self.src)
        os.remove(os.path.join(self.src, "merges.txt"))
        self.assert_refused(r"/hf: missing tokenizer files: expected tokenizer\.json, or vocab\.json \+ merges\.txt \(found vocab\.json\)")

    def test_shard_missing(self):
        dream_folder(self.src)
        os.remove(os.path.join(self.src, "model-00002-of-00002.safetensors"))
        self.assert_refused(r"model\.safetensors\.index\.json: shard 'model-00002-of-00002\.safetensors' is named by the index")

    def test_dtype_mismatch(self):
        dream_folder(self.src, dtype="F16")
        self.assert_refused(r"model-0000[12]-of-00002\.safetensors: tensor '.+' is stored as F16, but .*config\.json says torch_dtype 'bfloat16'")

    def test_unknown_architecture(self):
        dream_folder(self.src)
        cfg = os.path.join(self.src, "config.json")
        with open(cfg) as f:
            config = json.load(f)
        config.update({"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox"})
        with open(cfg, "w") as f:
            json.dump(config, f)
        self.assert_refused(r"config\.json: unsupported model: architectures \['GPTNeoXForCausalLM'\], model_type 'gpt_neox'\. Supported: LLaDA")

    def test_corrupt_header(self):
        dream_folder(self.src)
        shard = os.path.join(self.src, "model-00001-of-00002.safetensors")
        with open(shard, "r+b") as f:
            f.seek(8)
            f.write(b"\xff\xfe garbage")
        self.assert_refused(r"model-00001-of-00002\.safetensors: corrupt safetensors header: not JSON")

    def test_existing_out_is_kept_without_force(self):
        dream_folder(self.src)
        os.mkdir(self.out)
        with open(os.path.join(self.out, "keep.txt"), "w") as f:
            f.write("mine")
        code, err = self.cli()
        self.assertEqual(code, 2)
        self.assertRegex(err, r"--out .*/models/tiny exists and is not empty \(pass --force to replace it\)")
        self.assertEqual(os.listdir(self.out), ["keep.txt"])
        self.assertEqual(sorted(os.listdir(self.models)), ["tiny"])

    def run_in_process(self, builder, *extra):
        sys.modules["graph_builder"] = types.SimpleNamespace(build_decoder=builder.build_decoder)
        try:
            err = io.StringIO()
            with redirect_stderr(err):
                code = importer.main(["--from", self.src, "--out", self.out, "--no-parity", *extra])
            return code, err.getvalue()
        finally:
            del sys.modules["graph_builder"]

    def test_failure_during_the_build_leaves_nothing(self):
        dream_folder(self.src)
        code, err = self.run_in_process(StandInBuilder(fail=True))
        self.assertEqual(code, 1)
        self.assertIn("RuntimeError: builder failed half-way", err)
        self.assertEqual(os.listdir(self.models), [])

    def test_a_builder_may_echo_what_the_importer_decided_but_not_contradict_it(self):
        dream_folder(self.src)
        same = {"attention": {"type": "bidirectional", "block_size": None}}
        code, err = self.run_in_process(StandInBuilder(echo=same))
        self.assertEqual(code, 0, err)
        shutil.rmtree(self.out)
        other = {"attention": {"type": "causal", "block_size": None}}
        code, err = self.run_in_process(StandInBuilder(echo=other))
        self.assertEqual(code, 1)
        self.assertIn("returned fields the importer owns: ['attention']", err)
        self.assertEqual(os.listdir(self.models), [])

    def test_a_good_import_writes_a_bundle_the_engine_loads(self):
        dream_folder(self.src)
        builder = StandInBuilder()
        code, err = self.run_in_process(builder, "--max-length", "2048")
        self.assertEqual(code, 0, err)
        self.assertEqual(os.listdir(self.models), ["tiny"])
        files = sorted(os.listdir(self.out))
        self.assertEqual(files, ["MODEL_CARD.md", "chat_template.jinja", "dllm.json", "model.onnx", "tokenizer.json", "weights.bin"])
        with open(os.path.join(self.out, "dllm.json")) as f:
            d = json.load(f)
        self.assertEqual(len(builder.loaded), len(set(builder.loaded)))
        self.assertEqual((d["format_version"], d["name"], d["kind"], d["family"]), (3, "tiny", "masked-diffusion", "qwen2"))
        self.assertEqual((d["mask_token_id"], d["eos_token_id"], d["eos_token_ids"], d["pad_token_id"], d["bos_token_id"]),
                         (151666, 151643, [151643, 151645], 151643, 151665))
        self.assertEqual((d["shift_logits"], d["attention"], d["max_length"], d["vocab_size"]),
                         (True, {"type": "bidirectional", "block_size": None}, 2048, 152064))
        self.assertEqual(d["defaults"], {"gen_length": 256, "block_length": 32, "policy": "threshold", "threshold": 0.9})
        self.assertEqual(d["chat_template"], "chat_template.jinja")
        with open(os.path.join(DREAM, "tokenizer_config.json")) as f:
            template = json.load(f)["chat_template"]
        with open(os.path.join(self.out, "chat_template.jinja")) as f:
            self.assertEqual(f.read(), template)
        with open(os.path.join(self.out, "MODEL_CARD.md")) as f:
            card = f.read()
        self.assertIn("| license | apache-2.0 (README.md front matter) |", card)
        self.assertIn("Not measured at import (`--no-parity`)", card)
        # the engine's own loader (schema, ids within the vocabulary, tokenizer, files) accepts it
        check = subprocess.run(
            [os.path.join(REPO, "node_modules", ".bin", "tsx"), "-e",
             "const { loadModelBundle } = require('./libs/engine/src/bundle/model-bundle');"
             f"const b = loadModelBundle({json.dumps(self.out)});"
             "console.log(JSON.stringify({ format: b.format, eos: b.eosIds, bos: b.bosId, chat: !!b.chatTemplatePath }));"],
            cwd=REPO, capture_output=True, text=True, timeout=120)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertEqual(json.loads(check.stdout), {"format": 3, "eos": [151643, 151645], "bos": 151665, "chat": True})

    def test_force_replaces_an_existing_bundle(self):
        dream_folder(self.src)
        os.mkdir(self.out)
        with open(os.path.join(self.out, "old.txt"), "w") as f:
            f.write("old")
        code, err = self.run_in_process(StandInBuilder(), "--force")
        self.assertEqual(code, 0, err)
        self.assertNotIn("old.txt", os.listdir(self.out))
        self.assertEqual(os.listdir(self.models), ["tiny"])


if __name__ == "__main__":
    unittest.main()
