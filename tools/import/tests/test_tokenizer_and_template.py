"""tokenizer_files.py and chat_template.py on the real fixtures and on broken variants."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from chat_template import find_chat_template, write_chat_template  # noqa: E402
from safetensors_reader import CheckpointError  # noqa: E402
from tokenizer_files import added_tokens, read_merges, write_tokenizer  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "hf")
CODER = os.path.join(FIXTURES, "Qwen__Qwen2.5-Coder-0.5B-Instruct")


class TokenizerFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.tmp.name, "src")
        self.out = os.path.join(self.tmp.name, "out")
        os.mkdir(self.out)
        shutil.copytree(CODER, self.src)

    def tearDown(self):
        self.tmp.cleanup()

    def test_tokenizer_json_is_copied_byte_for_byte(self):
        body = json.dumps({"model": {"type": "BPE", "vocab": {}, "merges": []}, "note": "ünï"})
        with open(os.path.join(self.src, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(body)
        self.assertEqual(write_tokenizer(self.src, self.out), "copied tokenizer.json")
        with open(os.path.join(self.out, "tokenizer.json"), encoding="utf-8") as f:
            self.assertEqual(f.read(), body)

    def test_corrupt_tokenizer_json(self):
        with open(os.path.join(self.src, "tokenizer.json"), "w") as f:
            f.write("{not json")
        with self.assertRaisesRegex(CheckpointError, r"src/tokenizer\.json: unreadable"):
            write_tokenizer(self.src, self.out)

    def test_unconvertible_slow_tokenizer_class(self):
        cfg = os.path.join(self.src, "tokenizer_config.json")
        with open(cfg) as f:
            c = json.load(f)
        c["tokenizer_class"] = "LlamaTokenizer"
        with open(cfg, "w") as f:
            json.dump(c, f)
        with self.assertRaisesRegex(CheckpointError, r"tokenizer_class 'LlamaTokenizer' is not one this importer can convert"):
            write_tokenizer(self.src, self.out)

    def test_bad_merge_line_is_located(self):
        path = os.path.join(self.src, "merges.txt")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        lines.insert(10, "a b c")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        with self.assertRaisesRegex(CheckpointError, r"merges\.txt:11: a merge is two space-separated tokens, got 'a b c'"):
            read_merges(os.path.join(self.src, "merges.txt"))

    def test_added_tokens_merge_config_and_added_tokens_json(self):
        sdar = added_tokens(os.path.join(FIXTURES, "JetLM__SDAR-4B-Chat"))
        by_id = {t["id"]: t for t in sdar}
        self.assertEqual(by_id[151669]["content"], "<|MASK|>")  # tokenizer_config wins over added_tokens.json's "<MASK>"
        self.assertFalse(by_id[151669]["special"])
        self.assertEqual(by_id[151645]["content"], "<|im_end|>")


class ChatTemplate(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_sources_in_order(self):
        text, where = find_chat_template(os.path.join(FIXTURES, "GSAI-ML__LLaDA-8B-Instruct"))
        self.assertEqual(where, "tokenizer_config.json chat_template")
        self.assertIn("<|start_header_id|>", text)
        text, where = find_chat_template(os.path.join(FIXTURES, "JetLM__SDAR-4B-Chat"))
        self.assertEqual(where, "chat_template.jinja")
        with open(os.path.join(FIXTURES, "JetLM__SDAR-4B-Chat", "chat_template.jinja")) as f:
            self.assertEqual(text, f.read())
        self.assertEqual(find_chat_template(os.path.join(FIXTURES, "Efficient-Large-Model__Fast_dLLM_v2_1.5B")), (None, "none in the folder"))

    def test_json_and_list_forms(self):
        with open(os.path.join(self.dir, "chat_template.json"), "w") as f:
            json.dump({"chat_template": "{{ messages }}"}, f)
        self.assertEqual(find_chat_template(self.dir), ("{{ messages }}", "chat_template.json chat_template"))
        os.remove(os.path.join(self.dir, "chat_template.json"))
        with open(os.path.join(self.dir, "tokenizer_config.json"), "w") as f:
            json.dump({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}, f)
        out = os.path.join(self.dir, "out")
        os.mkdir(out)
        self.assertEqual(write_chat_template(self.dir, out), ("chat_template.jinja", "tokenizer_config.json chat_template"))
        with open(os.path.join(out, "chat_template.jinja")) as f:
            self.assertEqual(f.read(), "D")
        with open(os.path.join(self.dir, "tokenizer_config.json"), "w") as f:
            json.dump({"chat_template": [{"name": "tool_use", "template": "T"}]}, f)
        with self.assertRaisesRegex(CheckpointError, r"chat_template is a list without a 'default' entry \(found \['tool_use'\]\)"):
            find_chat_template(self.dir)


if __name__ == "__main__":
    unittest.main()
