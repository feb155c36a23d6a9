"""Per-model generation defaults written into dllm.json `defaults` (a request's own values win).

Each line follows the model's own published decoding setup:
  LLaDA: ML-GSAI/LLaDA generate.py uses block_length 32 and low-confidence remasking; Fast-dLLM's
    parallel decoding on LLaDA uses threshold 0.9 at 256 tokens (REFERENCES.md: 8.1x at 256).
  Dream / DiffuCoder: Fast-dLLM's Dream path, the same block 32 / threshold 0.9 at 256 tokens.
  Fast-dLLM v2: block = the model's bd_size (32), threshold 0.9 (its evaluation setting; the
    modeling code's own default of 1.0 disables parallel commits).
  SDAR: block = the model's block size (4), threshold 0.85 (JetAstra/SDAR generate.py default for
    low_confidence_dynamic).
  Autoregressive: one token per forward (block 1, policy fixed); no threshold applies, so none is
    written.
"""
from spec import ModelSpec

GEN_LENGTH = 256


def generation_defaults(spec: ModelSpec, variant_label: str) -> dict:
    if spec.kind == "autoregressive":
        return {"gen_length": GEN_LENGTH, "block_length": 1, "policy": "fixed"}
    if spec.attention == "block-causal":
        threshold = 0.85 if variant_label == "SDAR" else 0.9
        return {"gen_length": GEN_LENGTH, "block_length": int(spec.block_size), "policy": "threshold", "threshold": threshold}
    return {"gen_length": GEN_LENGTH, "block_length": 32, "policy": "threshold", "threshold": 0.9}
