"""An independent slow byte-level BPE over vocab.json + merges.txt, written from the GPT-2 /
Qwen2Tokenizer algorithm (NFC, the Qwen2 split regex with the `regex` module, bytes -> unicode,
greedy lowest-rank merges), used to check the importer's built tokenizer.json.

usage: slow_bpe.py HF_DIR CORPUS_JSON  -> prints {"plain": [[ids]...], "special": [[ids]...]}
  plain:   added tokens are NOT recognised in the text (how the engine encodes user text)
  special: added tokens are split out first, leftmost-longest (how transformers encodes)
"""
import json
import os
import sys
import unicodedata

import regex

SPLIT = regex.compile(
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map: printable latin-1 bytes map to themselves, the rest to 256 + n."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class SlowBPE:
    def __init__(self, hf_dir: str):
        with open(os.path.join(hf_dir, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        self.ranks = {}
        with open(os.path.join(hf_dir, "merges.txt"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("#version") or not line:
                    continue
                a, b = line.split(" ")
                self.ranks[(a, b)] = len(self.ranks)
        with open(os.path.join(hf_dir, "tokenizer_config.json"), encoding="utf-8") as f:
            decoder = json.load(f).get("added_tokens_decoder", {})
        self.added = {t["content"]: int(i) for i, t in decoder.items()}
        self.byte_char = bytes_to_unicode()
        self.cache: dict[str, list[str]] = {}

    def bpe(self, word: str) -> list[str]:
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for pair in zip(parts, parts[1:]):
                r = self.ranks.get(pair)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = pair, r
            if best is None:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def encode_plain(self, text: str) -> list[int]:
        ids = []
        for piece in SPLIT.findall(text):
            word = "".join(self.byte_char[b] for b in piece.encode("utf-8"))
            ids += [self.vocab[t] for t in self.bpe(word)]
        return ids

    def encode(self, text: str, specials: bool) -> list[int]:
        text = unicodedata.normalize("NFC", text)
        if not specials:
            return self.encode_plain(text)
        ids, i, start = [], 0, 0
        by_len = sorted(self.added, key=len, reverse=True)
        while i < len(text):
            hit = next((t for t in by_len if text.startswith(t, i)), None)
            if hit is None:
                i += 1
                continue
            ids += self.encode_plain(text[start:i]) + [self.added[hit]]
            i += len(hit)
            start = i
        return ids + self.encode_plain(text[start:])


if __name__ == "__main__":
    bpe = SlowBPE(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        corpus = json.load(f)
    json.dump({"plain": [bpe.encode(t, False) for t in corpus], "special": [bpe.encode(t, True) for t in corpus]}, sys.stdout)
