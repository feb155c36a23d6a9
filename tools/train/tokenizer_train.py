"""Train the byte-level BPE tokenizer and write it as a Hugging Face tokenizer.json.

Ids: 0 <|pad|>, 1 <|endoftext|>, 2 <|mask|>, then the 256 byte symbols, then one id per merge.
The pre-tokenizer regex splits code into identifiers, numbers, punctuation runs and whitespace runs;
the same regex is written into tokenizer.json so Node splits text exactly as training did.
"""
import argparse
import heapq
import json
import re
from collections import Counter
from pathlib import Path

import corpus

SPECIAL_TOKENS = ["<|pad|>", "<|endoftext|>", "<|mask|>"]
# identifiers | numbers | punctuation runs | whitespace not followed by text | whitespace
SPLIT_PATTERN = r" ?[A-Za-z_][A-Za-z0-9_]*| ?[0-9]+| ?[^\sA-Za-z0-9_]+|\s+(?!\S)|\s+"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by ByteLevel pre-tokenizers."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def count_words(texts) -> Counter:
    pattern = re.compile(SPLIT_PATTERN)
    counts: Counter = Counter()
    for text in texts:
        counts.update(m.encode("utf-8") for m in pattern.findall(text))
    return counts


def train_bpe(word_counts: Counter, n_merges: int) -> list[tuple[int, int]]:
    """Classic BPE with incremental pair counts and a lazy max-heap. Symbols are ints (bytes 0..255,
    merge i is 256+i). Ties break on the smallest pair, so the result is deterministic."""
    words = [list(w) for w in word_counts]
    freqs = list(word_counts.values())
    pair_counts: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = {}
    for wi, (w, f) in enumerate(zip(words, freqs)):
        for pair in zip(w, w[1:]):
            pair_counts[pair] += f
            where.setdefault(pair, set()).add(wi)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg:
            continue  # stale entry
        if -neg < 2:
            break
        new_sym = 256 + len(merges)
        merges.append(pair)
        changed: set = set()
        for wi in where.pop(pair, ()):
            w, f = words[wi], freqs[wi]
            for p in zip(w, w[1:]):
                pair_counts[p] -= f
                changed.add(p)
            i, out = 0, []
            while i < len(w):
                if i + 1 < len(w) and w[i] == pair[0] and w[i + 1] == pair[1]:
                    out.append(new_sym)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for p in zip(out, out[1:]):
                pair_counts[p] += f
                changed.add(p)
                where.setdefault(p, set()).add(wi)
        pair_counts.pop(pair, None)
        for p in changed:
            c = pair_counts.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                pair_counts.pop(p, None)
    return merges


def build_tokenizer_json(merges: list[tuple[int, int]]) -> dict:
    b2u = bytes_to_unicode()
    symbol_text = [b2u[b] for b in range(256)]
    for a, b in merges:
        symbol_text.append(symbol_text[a] + symbol_text[b])
    n_special = len(SPECIAL_TOKENS)
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for sym, text in enumerate(symbol_text):
        if text in vocab:
            raise SystemExit(f"duplicate symbol {text!r}: merges are not unique")
        vocab[text] = n_special + sym
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for i, t in enumerate(SPECIAL_TOKENS)
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False},
                byte_level,
            ],
        },
        "post_processor": None,
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [[symbol_text[a], symbol_text[b]] for a, b in merges],
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-files", type=int, default=0, help="use only the first N train files (smoke runs)")
    args = ap.parse_args()
    train_files, _ = corpus.split_corpus()
    if args.max_files:
        train_files = train_files[: args.max_files]
    counts = count_words(corpus.read_text(p) for p in train_files)
    n_merges = args.vocab_size - 256 - len(SPECIAL_TOKENS)
    merges = train_bpe(counts, n_merges)
    tok = build_tokenizer_json(merges)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(tok, ensure_ascii=False, indent=None))
    print(json.dumps({"vocab_size": len(tok["model"]["vocab"]), "merges": len(merges), "train_files": len(train_files), "unique_words": len(counts)}))


if __name__ == "__main__":
    main()
