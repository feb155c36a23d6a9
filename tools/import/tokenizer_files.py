"""The bundle's tokenizer.json: copied when the checkpoint has one; BUILT from the slow files
(vocab.json + merges.txt + added tokens) for Qwen2-style tokenizers, which is how Dream,
DiffuCoder and Dream-Coder ship.

The built file is what `transformers` writes when it converts a Qwen2Tokenizer to the fast one:
NFC normalizer (Qwen2Tokenizer.prepare_for_tokenization applies NFC), the Qwen2 split regex
(Isolated) followed by ByteLevel without its own regex or prefix space, a BPE model with the merges
in rank order, ByteLevel decoder, and the added tokens exactly as tokenizer_config.json's
added_tokens_decoder describes them. tools/import/tokenizer-parity.spec.ts proves it encodes like an
independent slow BPE over the same vocab.json + merges.txt.
"""
import json
import os
import shutil

from safetensors_reader import CheckpointError

# transformers' Qwen2Tokenizer PRETOKENIZE_REGEX (the GPT-4-like split with single digits).
QWEN2_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# Slow tokenizer classes whose files follow Qwen2Tokenizer's algorithm (Dream's is a copy of it).
QWEN2_SLOW_CLASSES = {"Qwen2Tokenizer", "Qwen2TokenizerFast", "DreamTokenizer"}


def _load_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: unreadable ({err})") from err


def tokenizer_config(hf_dir: str) -> dict:
    path = os.path.join(hf_dir, "tokenizer_config.json")
    return _load_json(path) if os.path.isfile(path) else {}


def added_tokens(hf_dir: str) -> list[dict]:
    """Added tokens (id, content, flags) from tokenizer_config.json's added_tokens_decoder, plus any
    only in added_tokens.json (treated as special, as the slow tokenizer does for them)."""
    cfg = tokenizer_config(hf_dir)
    out: dict[int, dict] = {}
    for sid, t in (cfg.get("added_tokens_decoder") or {}).items():
        out[int(sid)] = {
            "id": int(sid), "content": t["content"], "single_word": bool(t.get("single_word", False)),
            "lstrip": bool(t.get("lstrip", False)), "rstrip": bool(t.get("rstrip", False)),
            "normalized": bool(t.get("normalized", False)), "special": bool(t.get("special", True)),
        }
    path = os.path.join(hf_dir, "added_tokens.json")
    if os.path.isfile(path):
        for content, i in _load_json(path).items():
            if int(i) in out:
                continue
            out[int(i)] = {"id": int(i), "content": content, "single_word": False, "lstrip": False,
                           "rstrip": False, "normalized": False, "special": True}
    return [out[i] for i in sorted(out)]


def read_merges(path: str) -> list[str]:
    merges = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            line = line.rstrip("\n").rstrip("\r")
            if n == 0 and line.startswith("#version"):
                continue
            if not line:
                continue
            if len(line.split(" ")) != 2:
                raise CheckpointError(f"{path}:{n + 1}: a merge is two space-separated tokens, got {line!r}")
            merges.append(line)
    return merges


def build_qwen2_tokenizer_json(hf_dir: str) -> dict:
    cfg = tokenizer_config(hf_dir)
    cls = cfg.get("tokenizer_class")
    if cls not in QWEN2_SLOW_CLASSES:
        raise CheckpointError(
            f"{hf_dir}: has vocab.json + merges.txt but no tokenizer.json, and tokenizer_class {cls!r} is not one"
            f" this importer can convert ({', '.join(sorted(QWEN2_SLOW_CLASSES))}); add the model's tokenizer.json"
        )
    vocab = _load_json(os.path.join(hf_dir, "vocab.json"))
    merges = read_merges(os.path.join(hf_dir, "merges.txt"))
    for m in merges:
        a, b = m.split(" ")
        if a not in vocab or b not in vocab or a + b not in vocab:
            raise CheckpointError(f"{hf_dir}/merges.txt: merge {m!r} uses or makes a token missing from vocab.json")
    added = added_tokens(hf_dir)
    for t in added:
        if t["content"] in vocab and vocab[t["content"]] != t["id"]:
            raise CheckpointError(f"{hf_dir}: added token {t['content']!r} id {t['id']} differs from vocab.json's {vocab[t['content']]}")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
                byte_level,
            ],
        },
        "post_processor": dict(byte_level),
        "decoder": dict(byte_level),
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": merges,
        },
    }


def write_tokenizer(hf_dir: str, out_dir: str) -> str:
    """Writes out_dir/tokenizer.json; returns how it was obtained ("copied" or "built from ...")."""
    dst = os.path.join(out_dir, "tokenizer.json")
    src = os.path.join(hf_dir, "tokenizer.json")
    if os.path.isfile(src):
        _load_json(src)  # refuse a corrupt file here rather than at serve time
        shutil.copyfile(src, dst)
        return "copied tokenizer.json"
    have = [f for f in ("vocab.json", "merges.txt") if os.path.isfile(os.path.join(hf_dir, f))]
    if len(have) < 2:
        raise CheckpointError(
            f"{hf_dir}: missing tokenizer files: expected tokenizer.json, or vocab.json + merges.txt"
            f" (found {', '.join(have) or 'neither'})"
        )
    tok = build_qwen2_tokenizer_json(hf_dir)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    return "built from vocab.json + merges.txt + tokenizer_config.json added tokens (Qwen2 BPE)"
