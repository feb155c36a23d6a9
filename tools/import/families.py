"""Checkpoint families: config.json -> ModelSpec, checkpoint tensor names -> canonical names.

One entry per supported (architectures, model_type) pair. Each family states its EXACT tensor-name
map; a checkpoint imports only when every canonical name finds its tensor and every tensor of the
checkpoint is used exactly once (leftovers are an error naming them), so a layout we do not know is
never half-imported.

Per-family facts (read from each model's own modeling/generation code; see REFERENCES.md):
  LLaDA (LLaDAModelLM, model_type llada): bidirectional, NO logit shift (ML-GSAI/LLaDA generate.py
    reads the logits at the masked positions themselves).
  Dream / DiffuCoder / Dream-Coder (DreamModel, model_type Dream): bidirectional, logits shifted
    right by one (Dream's generation_utils: logits = cat([logits[:, :1], logits[:, :-1]])).
  Fast-dLLM v2 (Fast_dLLM_QwenForCausalLM): block-causal with config bd_size (32); shifted: its
    modeling.py generate() applies the same cat([logits[:, :1], logits[:, :-1]]) inside a block and
    takes each block's first token from the previous block's last logit, like an AR model.
  SDAR (SDARForCausalLM, model_type sdar): block-causal, block 4 unless the config says otherwise;
    NOT shifted: JetAstra/SDAR generate.py samples x0 for position i from logits[i] of the block.
  Qwen2ForCausalLM / Qwen3ForCausalLM: plain causal decoders, kind autoregressive, shifted (the
    output at p predicts p + 1, by definition of a causal LM).
"""
import json
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import numpy as np

from safetensors_reader import CheckpointError, SafetensorsCheckpoint
from spec import ModelSpec

CONFIG_FILE = "config.json"

# Checkpoint tensors that are not weights of the network; ignored, each with the reason why.
IGNORED = [
    (re.compile(r"(^|\.)rotary_emb\.inv_freq$"), "RoPE frequencies, recomputed from rope_theta"),
]

# torch_dtype in config.json -> the safetensors dtype every weight must have.
CONFIG_DTYPES = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}


@dataclass(frozen=True)
class QwenLayout:
    """What tells a Qwen3 decoder layer from a Qwen2 one. Everything else is the same: the config
    keys, the tensor names (one map, _qwen_names) and the forward; these two flags add or drop
    tensors in that map and steps in the graph."""

    qkv_bias: bool  # q_proj/k_proj/v_proj carry a bias (o_proj never does)
    qk_norm: bool  # self_attn.q_norm / k_norm: RMSNorm over each head's vector, before RoPE
    # config attention_bias = true is refused: transformers' Qwen3 then adds o_proj.bias too, which
    # the graph does not implement; no supported checkpoint sets it
    refuse_attention_bias: bool


QWEN_LAYOUTS = {
    "qwen2": QwenLayout(qkv_bias=True, qk_norm=False, refuse_attention_bias=False),
    "qwen3": QwenLayout(qkv_bias=False, qk_norm=True, refuse_attention_bias=True),
}


@dataclass(frozen=True)
class Variant:
    """One supported model line: how its config and names are read."""

    label: str  # human name, e.g. "Dream (DreamModel)"
    architectures: tuple[str, ...]
    model_types: tuple[str, ...]
    layout: str  # "llada" | "qwen2" | "qwen3": which name map
    kind: str
    attention: str
    shift_logits: bool
    default_block: Optional[int] = None  # block-causal: when the config names no block size
    block_keys: tuple[str, ...] = ()  # config keys that hold the block size


VARIANTS = [
    Variant("LLaDA", ("LLaDAModelLM",), ("llada",), "llada", "masked-diffusion", "bidirectional", False),
    Variant("Dream / DiffuCoder / Dream-Coder", ("DreamModel",), ("dream",), "qwen2", "masked-diffusion", "bidirectional", True),
    Variant(
        "Fast-dLLM v2", ("Fast_dLLM_QwenForCausalLM",), ("fast_dllm_qwen",), "qwen2", "masked-diffusion", "block-causal", True,
        default_block=32, block_keys=("bd_size", "block_size"),
    ),
    Variant(
        "SDAR", ("SDARForCausalLM",), ("sdar",), "qwen3", "masked-diffusion", "block-causal", False,
        default_block=4, block_keys=("block_size", "bd_size"),
    ),
    Variant("Qwen2 causal LM (autoregressive)", ("Qwen2ForCausalLM",), ("qwen2",), "qwen2", "autoregressive", "causal", True),
    Variant("Qwen3 causal LM (autoregressive)", ("Qwen3ForCausalLM",), ("qwen3",), "qwen3", "autoregressive", "causal", True),
]


def supported_text() -> str:
    return "; ".join(f"{v.label}: architectures {'/'.join(v.architectures)}, model_type {'/'.join(v.model_types)}" for v in VARIANTS)


def read_config(hf_dir: str) -> dict:
    path = os.path.join(hf_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise CheckpointError(f"{hf_dir}: missing {CONFIG_FILE} (is this a Hugging Face model folder?)")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return config


def detect_variant(config: dict, where: str = CONFIG_FILE) -> Variant:
    archs = config.get("architectures") or []
    model_type = str(config.get("model_type", "")).lower()
    for v in VARIANTS:
        if any(a in v.architectures for a in archs) and model_type in v.model_types:
            return v
    raise CheckpointError(
        f"{where}: unsupported model: architectures {archs!r}, model_type {config.get('model_type')!r}."
        f" Supported: {supported_text()}"
    )


def _need(config: dict, key: str, where: str):
    if config.get(key) is None:
        raise CheckpointError(f"{where}: missing required field {key!r}")
    return config[key]


def _refuse_unless(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise CheckpointError(f"{where}: not supported: {what}")


def spec_from_config(config: dict, max_length: Optional[int] = None, where: str = CONFIG_FILE) -> tuple[ModelSpec, Variant]:
    """The ModelSpec of a config.json (refusing options the one decoder graph does not implement)."""
    v = detect_variant(config, where)
    if v.layout == "llada":
        bt = config.get("block_type", "llama")
        _refuse_unless(
            bt == "llama", where,
            f'block_type {bt!r}: only "llama" (separate q_proj/k_proj/v_proj) is supported; "sequential"'
            " fuses q/k/v into att_proj",
        )
        for key, want in [
            ("layer_norm_type", "rms"), ("alibi", False), ("rope", True), ("include_bias", False),
            ("attention_layer_norm", False), ("input_emb_norm", False), ("scale_logits", False),
            ("block_group_size", 1), ("layer_norm_with_affine", True), ("bias_for_layer_norm", False),
            ("clip_qkv", None),
        ]:
            if key in config and config[key] != want and not (key == "bias_for_layer_norm" and config[key] is None):
                raise CheckpointError(f"{where}: not supported: {key} = {config[key]!r} (the LLaDA importer handles {want!r})")
        act = config.get("activation_type", "silu")
        _refuse_unless(act in ("silu", "swiglu"), where, f"activation_type {act!r} (SwiGLU/silu only)")
        d = int(_need(config, "d_model", where))
        heads = int(_need(config, "n_heads", where))
        if config.get("multi_query_attention"):
            kv = 1
        else:
            kv = int(config.get("n_kv_heads") or heads)
        mlp = config.get("mlp_hidden_size") or int(config.get("mlp_ratio", 4)) * d
        vocab = int(config.get("embedding_size") or _need(config, "vocab_size", where))
        spec_kw = dict(
            vocab_size=vocab, d_model=d, n_layers=int(_need(config, "n_layers", where)), n_heads=heads, n_kv_heads=kv,
            head_dim=d // heads, mlp_hidden=int(mlp), rope_theta=float(config.get("rope_theta", 10000.0)),
            rms_eps=float(config.get("rms_norm_eps", 1e-5)), qkv_bias=bool(config.get("include_qkv_bias", False)),
            qk_norm=False, tied_embeddings=bool(config.get("weight_tying", False)),
            max_length=int(config.get("max_sequence_length", 4096)),
        )
        _refuse_unless(d % heads == 0, where, f"d_model {d} not divisible by n_heads {heads}")
    else:
        act = config.get("hidden_act", "silu")
        _refuse_unless(act == "silu", where, f"hidden_act {act!r} (SwiGLU with silu only)")
        _refuse_unless(not config.get("use_sliding_window"), where, "use_sliding_window = true (sliding-window attention)")
        _refuse_unless(config.get("rope_scaling") is None, where, f"rope_scaling {config.get('rope_scaling')!r} (plain RoPE only)")
        _refuse_unless(not config.get("use_mrope"), where, "use_mrope = true (multimodal RoPE)")
        layer_types = config.get("layer_types")
        if layer_types is not None:
            other = sorted(set(layer_types) - {"full_attention"})
            _refuse_unless(not other, where, f"layer_types {other} (full attention layers only)")
        d = int(_need(config, "hidden_size", where))
        heads = int(_need(config, "num_attention_heads", where))
        qwen = QWEN_LAYOUTS[v.layout]
        if qwen.refuse_attention_bias:
            _refuse_unless(not config.get("attention_bias"), where, f"attention_bias = true on a {v.layout}-layout model")
        spec_kw = dict(
            vocab_size=int(_need(config, "vocab_size", where)), d_model=d,
            n_layers=int(_need(config, "num_hidden_layers", where)), n_heads=heads,
            n_kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or d // heads), mlp_hidden=int(_need(config, "intermediate_size", where)),
            rope_theta=float(config.get("rope_theta", 10000.0)), rms_eps=float(config.get("rms_norm_eps", 1e-6)),
            qkv_bias=qwen.qkv_bias, qk_norm=qwen.qk_norm,
            tied_embeddings=bool(config.get("tie_word_embeddings", False)),
            max_length=int(config.get("max_position_embeddings", 32768)),
        )
    _refuse_unless(
        spec_kw["n_heads"] % spec_kw["n_kv_heads"] == 0, where,
        f"{spec_kw['n_heads']} query heads not a multiple of {spec_kw['n_kv_heads']} key/value heads",
    )
    block = None
    if v.attention == "block-causal":
        block = next((int(config[k]) for k in v.block_keys if config.get(k)), v.default_block)
    if max_length is not None:
        if max_length > spec_kw["max_length"]:
            raise CheckpointError(
                f"--max-length {max_length} exceeds the model's trained context {spec_kw['max_length']} ({where})"
            )
        spec_kw["max_length"] = max_length
    spec = ModelSpec(
        family=v.layout, kind=v.kind, attention=v.attention, block_size=block, shift_logits=v.shift_logits, **spec_kw
    )
    return spec, v


def _llada_names(spec: ModelSpec) -> dict[str, str]:
    m: dict[str, str] = {"embed": "model.transformer.wte.weight", "final_norm": "model.transformer.ln_f.weight"}
    if not spec.tied_embeddings:
        m["lm_head"] = "model.transformer.ff_out.weight"
    for i in range(spec.n_layers):
        b, c = f"model.transformer.blocks.{i}.", f"layers.{i}."
        m.update({
            c + "attn_norm": b + "attn_norm.weight", c + "q.weight": b + "q_proj.weight", c + "k.weight": b + "k_proj.weight",
            c + "v.weight": b + "v_proj.weight", c + "o.weight": b + "attn_out.weight", c + "mlp_norm": b + "ff_norm.weight",
            # LLaDA's names: ff_proj is the gate, up_proj the up, ff_out (inside a block) the down projection.
            c + "gate.weight": b + "ff_proj.weight", c + "up.weight": b + "up_proj.weight", c + "down.weight": b + "ff_out.weight",
        })
        if spec.qkv_bias:
            m.update({c + "q.bias": b + "q_proj.bias", c + "k.bias": b + "k_proj.bias", c + "v.bias": b + "v_proj.bias"})
    return m


def _qwen_names(spec: ModelSpec) -> dict[str, str]:
    """The one tensor map of the Qwen2 and Qwen3 layouts; what differs between them is what
    QWEN_LAYOUTS sets in the spec (q/k/v biases, per-head q/k norms)."""
    m: dict[str, str] = {"embed": "model.embed_tokens.weight", "final_norm": "model.norm.weight"}
    if not spec.tied_embeddings:
        m["lm_head"] = "lm_head.weight"
    for i in range(spec.n_layers):
        b, c = f"model.layers.{i}.", f"layers.{i}."
        m.update({
            c + "attn_norm": b + "input_layernorm.weight", c + "mlp_norm": b + "post_attention_layernorm.weight",
            c + "q.weight": b + "self_attn.q_proj.weight", c + "k.weight": b + "self_attn.k_proj.weight",
            c + "v.weight": b + "self_attn.v_proj.weight", c + "o.weight": b + "self_attn.o_proj.weight",
            c + "gate.weight": b + "mlp.gate_proj.weight", c + "up.weight": b + "mlp.up_proj.weight",
            c + "down.weight": b + "mlp.down_proj.weight",
        })
        if spec.qkv_bias:
            m.update({c + "q.bias": b + "self_attn.q_proj.bias", c + "k.bias": b + "self_attn.k_proj.bias", c + "v.bias": b + "self_attn.v_proj.bias"})
        if spec.qk_norm:
            m.update({c + "q_norm": b + "self_attn.q_norm.weight", c + "k_norm": b + "self_attn.k_norm.weight"})
    return m


NAME_MAPS: dict[str, Callable[[ModelSpec], dict[str, str]]] = {"llada": _llada_names, "qwen2": _qwen_names, "qwen3": _qwen_names}


@dataclass
class NameMatch:
    mapping: dict[str, str]  # canonical -> checkpoint name
    ignored: dict[str, str] = field(default_factory=dict)  # checkpoint name -> reason


def match_names(spec: ModelSpec, checkpoint_names, where: str) -> NameMatch:
    """Map every canonical name to exactly one checkpoint tensor; everything else is an error
    unless explicitly ignored. Works from names only (a real index, without its shards)."""
    wanted = NAME_MAPS[spec.family](spec)
    assert set(wanted) == set(spec.canonical_names()), "name map and ModelSpec.canonical_names disagree"
    present = set(checkpoint_names)
    missing = [f"{c} (checkpoint name {n!r})" for c, n in wanted.items() if n not in present]
    if missing:
        raise CheckpointError(
            f"{where}: {len(missing)} tensors the config implies are missing: {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        )
    used = set(wanted.values())
    ignored: dict[str, str] = {}
    leftover = []
    for n in sorted(present - used):
        reason = next((r for pat, r in IGNORED if pat.search(n)), None)
        if reason is None and spec.tied_embeddings and n in ("lm_head.weight", "model.transformer.ff_out.weight"):
            # transformers ties the head to the embedding and discards a stored copy; so do we.
            reason = "output head stored although the config ties it to the embedding; tied, as transformers does"
        if reason:
            ignored[n] = reason
        else:
            leftover.append(n)
    if leftover:
        raise CheckpointError(
            f"{where}: {len(leftover)} checkpoint tensors have no place in the {spec.family} layout: {', '.join(leftover[:5])}"
            + (f" and {len(leftover) - 5} more" if len(leftover) > 5 else "")
        )
    return NameMatch(wanted, ignored)


class CheckpointWeights:
    """WeightSource over a safetensors checkpoint: canonical name -> float32 array, one at a time."""

    def __init__(self, spec: ModelSpec, ckpt: SafetensorsCheckpoint, match: NameMatch, variant: Variant, config: dict):
        self.spec = spec
        self.ckpt = ckpt
        self.mapping = match.mapping
        self.ignored = match.ignored
        self.variant = variant
        self.config = config

    def names(self) -> Iterator[str]:
        return iter(self.spec.canonical_names())

    def checkpoint_name(self, name: str) -> str:
        try:
            return self.mapping[name]
        except KeyError:
            raise KeyError(f"no canonical weight {name!r} in a {self.spec.family} spec") from None

    def load(self, name: str) -> np.ndarray:
        arr = self.ckpt.read(self.checkpoint_name(name))
        want = self.spec.canonical_shape(name)
        if arr.shape != want:  # checked at open; kept as a guard against a file changing under us
            raise CheckpointError(f"{self.ckpt.info(self.mapping[name]).file}: {self.mapping[name]!r} has shape {list(arr.shape)}, expected {list(want)}")
        return arr

    def total_bytes(self) -> int:
        return sum(self.ckpt.info(n).end - self.ckpt.info(n).begin for n in self.mapping.values())

    def stored_dtypes(self) -> list[str]:
        return sorted({self.ckpt.info(n).dtype for n in self.mapping.values()})


def check_shapes_and_dtypes(spec: ModelSpec, ckpt: SafetensorsCheckpoint, match: NameMatch, config: dict, where: str) -> None:
    want_dtype = CONFIG_DTYPES.get(str(config.get("torch_dtype", "")))
    for canon, name in match.mapping.items():
        t = ckpt.info(name)
        shape = spec.canonical_shape(canon)
        if t.shape != shape:
            raise CheckpointError(
                f"{t.file}: tensor {name!r} has shape {list(t.shape)}, but {where} implies {list(shape)} for {canon}"
            )
        if want_dtype and t.dtype != want_dtype:
            raise CheckpointError(
                f"{t.file}: tensor {name!r} is stored as {t.dtype}, but {where} says torch_dtype"
                f" {config.get('torch_dtype')!r} ({want_dtype}); fix torch_dtype or re-save the checkpoint"
            )


def open_checkpoint(hf_dir: str, max_length: Optional[int] = None) -> tuple[ModelSpec, CheckpointWeights]:
    """(ModelSpec, WeightSource) for a Hugging Face folder; raises CheckpointError on anything the
    importer cannot faithfully convert. Reads only headers here; weights stream later."""
    config = read_config(hf_dir)
    where = os.path.join(hf_dir, CONFIG_FILE)
    spec, variant = spec_from_config(config, max_length, where)
    ckpt = SafetensorsCheckpoint(hf_dir)
    match = match_names(spec, ckpt.names(), hf_dir)
    check_shapes_and_dtypes(spec, ckpt, match, config, where)
    return spec, CheckpointWeights(spec, ckpt, match, variant, config)
