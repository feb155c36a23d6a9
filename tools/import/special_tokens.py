"""Special token ids for dllm.json, each from the checkpoint's own files, with where it came from.

  mask  config.json mask_token_id; else tokenizer_config.json / special_tokens_map.json mask_token;
        else a known mask text among the added tokens (Fast-dLLM v2 "|<MASK>|", SDAR "<|MASK|>" /
        "<MASK>"). A masked-diffusion model without one is refused; an autoregressive model gets its
        pad id (the engine never writes a mask into an AR canvas).
  eos   config.json eos_token_id (else generation_config.json's first); eos_token_ids = every id in
        config + generation_config eos lists + the tokenizer's eos_token + the end-of-turn tokens
        present (<|im_end|>, <|eot_id|>, <|endoftext|>): generation stops at any of them.
  pad   config.json pad_token_id; else generation_config.json; else the tokenizer's pad_token; else eos.
  bos   the tokenizer's bos_token (what a chat template's {{ bos_token }} renders; LLaDA's
        <|startoftext|> 126080, via generation_config when the tokenizer names none), null when the
        tokenizer has none (Qwen family). No supported tokenizer adds it to plain text
        (add_bos_token is false throughout), so the engine does not prepend it.
"""
import json
import os
from typing import Optional

from safetensors_reader import CheckpointError
from tokenizer_files import added_tokens, tokenizer_config

MASK_TEXTS = ("<|mask|>", "<|mdm_mask|>", "|<MASK>|", "<|MASK|>", "<MASK>", "[MASK]")
END_OF_TURN_TEXTS = ("<|im_end|>", "<|eot_id|>", "<|endoftext|>")


def _json_or_empty(path: str) -> dict:
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, json.JSONDecodeError):
        # LLaDA-8B-Base's special_tokens_map.json does not parse upstream (a missing comma); every
        # id it would give is also in tokenizer_config.json, so an unreadable map is skipped.
        return {}
    return value if isinstance(value, dict) else {}


def _text(token) -> Optional[str]:
    if isinstance(token, dict):
        return token.get("content")
    return token if isinstance(token, str) else None


def _ids(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def special_ids(hf_dir: str, config: dict, kind: str, vocab_size: int) -> dict:
    gen = _json_or_empty(os.path.join(hf_dir, "generation_config.json"))
    tok_cfg = tokenizer_config(hf_dir)
    tok_map = _json_or_empty(os.path.join(hf_dir, "special_tokens_map.json"))
    by_text = {t["content"]: t["id"] for t in added_tokens(hf_dir)}
    tokenizer_json = os.path.join(hf_dir, "tokenizer.json")
    if os.path.isfile(tokenizer_json):
        with open(tokenizer_json, encoding="utf-8") as f:
            for t in json.load(f).get("added_tokens") or []:
                by_text.setdefault(t["content"], t["id"])
    sources: dict[str, str] = {}

    def tok_id(name: str) -> Optional[int]:
        for where, cfg in (("tokenizer_config.json", tok_cfg), ("special_tokens_map.json", tok_map)):
            text = _text(cfg.get(name))
            if text is not None and text in by_text:
                sources[name] = f"{where} {name} {text!r}"
                return by_text[text]
        return None

    # mask
    mask = config.get("mask_token_id")
    if mask is not None:
        sources["mask"] = "config.json mask_token_id"
    else:
        mask = tok_id("mask_token")
        if mask is not None:
            sources["mask"] = sources.pop("mask_token")
        else:
            hit = next((t for t in MASK_TEXTS if t in by_text), None)
            if hit is not None:
                mask = by_text[hit]
                sources["mask"] = f"added token {hit!r}"
    # eos
    eos_cfg, eos_gen = _ids(config.get("eos_token_id")), _ids(gen.get("eos_token_id"))
    if not eos_cfg and not eos_gen:
        raise CheckpointError(f"{hf_dir}: no eos_token_id in config.json or generation_config.json")
    eos = (eos_cfg or eos_gen)[0]
    sources["eos"] = "config.json eos_token_id" if eos_cfg else "generation_config.json eos_token_id"
    eos_list = list(dict.fromkeys(eos_cfg + eos_gen))
    tok_eos = tok_id("eos_token")
    if tok_eos is not None and tok_eos not in eos_list:
        eos_list.append(tok_eos)
    for text in END_OF_TURN_TEXTS:
        if text in by_text and by_text[text] not in eos_list:
            eos_list.append(by_text[text])
    # pad
    pad = config.get("pad_token_id")
    sources["pad"] = "config.json pad_token_id"
    if pad is None:
        pad = gen.get("pad_token_id")
        sources["pad"] = "generation_config.json pad_token_id"
    if pad is None:
        pad = tok_id("pad_token")
        sources["pad"] = sources.pop("pad_token", "")
    if pad is None:
        pad, sources["pad"] = eos, "eos (no pad token anywhere)"
    # bos
    bos = tok_id("bos_token")
    if bos is not None:
        sources["bos"] = sources.pop("bos_token")
    elif _text(tok_cfg.get("bos_token")) is not None and gen.get("bos_token_id") is not None:
        bos, sources["bos"] = int(gen["bos_token_id"]), "generation_config.json bos_token_id"
    else:
        sources["bos"] = "none: the tokenizer names no bos_token"
    if mask is None:
        if kind == "masked-diffusion":
            raise CheckpointError(
                f"{hf_dir}: no mask token: config.json has no mask_token_id, the tokenizer files name no mask_token,"
                f" and none of {', '.join(MASK_TEXTS)} is an added token"
            )
        mask, sources["mask"] = int(pad), "autoregressive: no mask token; the pad id stands in"
    out = {"mask": int(mask), "eos": int(eos), "eos_ids": [int(e) for e in eos_list], "pad": int(pad),
           "bos": None if bos is None else int(bos)}
    for name, value in out.items():
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not 0 <= v < vocab_size:
                raise CheckpointError(f"{hf_dir}: {name} token id {v} is outside the model's vocabulary ({vocab_size})")
    for k in [k for k in sources if k.endswith("_token")]:
        sources.pop(k)
    out["sources"] = sources
    return out
