"""Write a full-size but SPARSE safetensors checkpoint from a real model's metadata (config.json +
model.safetensors.index.json): real headers, real tensor names, shapes derived from the config, data
left as a hole (truncate), so it reads as zeros and takes no disk. For measuring the importer's
memory at real scale (the weights themselves cannot be downloaded here).

usage: sparse_checkpoint.py FIXTURE_DIR OUT_DIR [--placeholder-tokenizer]
  --placeholder-tokenizer  write a 256-byte-token tokenizer.json when the fixture has no tokenizer
                           files (LLaDA's tokenizer.json is not among the fixtures); the bundle it
                           leads to is for measurement only.
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from families import NAME_MAPS, read_config, spec_from_config  # noqa: E402
from safetensors_reader import INDEX_FILE  # noqa: E402

METADATA = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
            "added_tokens.json", "chat_template.jinja", "vocab.json", "merges.txt", "tokenizer.json")


def placeholder_tokenizer() -> dict:
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars, extra = {}, 0
    for b in range(256):
        chars[b] = chr(b) if b in keep else chr(256 + extra)
        extra += b not in keep
    vocab = {chars[b]: b for b in range(256)}
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
            "pre_tokenizer": bl, "post_processor": None, "decoder": bl,
            "model": {"type": "BPE", "vocab": vocab, "merges": []}}


def main(src: str, out: str, placeholder: bool) -> None:
    config = read_config(src)
    spec, _ = spec_from_config(config)
    shape_of = {ck: spec.canonical_shape(canon) for canon, ck in NAME_MAPS[spec.family](spec).items()}
    with open(os.path.join(src, INDEX_FILE)) as f:
        index = json.load(f)
    os.makedirs(out, exist_ok=True)
    for name in METADATA:
        if os.path.isfile(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), out)
    shutil.copy(os.path.join(src, INDEX_FILE), out)
    if placeholder and not os.path.isfile(os.path.join(out, "tokenizer.json")) and not os.path.isfile(os.path.join(out, "vocab.json")):
        with open(os.path.join(out, "tokenizer.json"), "w") as f:
            json.dump(placeholder_tokenizer(), f)
    dtype = {"float16": "F16", "float32": "F32"}.get(str(config.get("torch_dtype")), "BF16")
    width = 4 if dtype == "F32" else 2
    shards: dict[str, list[str]] = {}
    for name, shard in index["weight_map"].items():
        shards.setdefault(shard, []).append(name)
    total = 0
    for shard, names in shards.items():
        header, off = {}, 0
        for n in names:
            size = width
            for d in shape_of[n]:
                size *= d
            header[n] = {"dtype": dtype, "shape": list(shape_of[n]), "data_offsets": [off, off + size]}
            off += size
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        path = os.path.join(out, shard)
        with open(path, "wb") as f:
            f.write(len(raw).to_bytes(8, "little") + raw)
            f.truncate(8 + len(raw) + off)
        total += off
    print(json.dumps({"out": out, "shards": len(shards), "tensors": len(index["weight_map"]), "data_bytes": total}))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0], args[1], "--placeholder-tokenizer" in sys.argv)
