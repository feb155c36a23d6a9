"""Import a Hugging Face diffusion (or causal) LM folder into a dllm-batch bundle (dllm.json format 3).

    npm run import -- --from HF_DIR --out models/NAME [--dtype fp32|fp16|int4] [--max-length N] [--force]

Everything that can be checked is checked before anything is written (config, every safetensors
header, the name map, shapes, dtypes, tokenizer files, special ids, chat template); then the bundle
is written into a temporary folder beside --out and renamed into place at the very end, so an error
at any point leaves no partial bundle. The weights stream one tensor at a time (graph_builder).
"""
import argparse
import json
import os
import shutil
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chat_template import find_chat_template, write_chat_template  # noqa: E402
from families import open_checkpoint, read_config, spec_from_config  # noqa: E402
from generation_defaults import generation_defaults  # noqa: E402
from model_card import write_model_card  # noqa: E402
from safetensors_reader import CheckpointError  # noqa: E402
from spec import TOP_K  # noqa: E402
from special_tokens import special_ids  # noqa: E402
from tokenizer_files import write_tokenizer  # noqa: E402

DTYPES = ("fp32", "fp16", "int4")
WEIGHTS_DTYPE = {"fp32": "float32", "fp16": "float16", "int4": "int4"}
DEFAULT_MAX_LENGTH = 4096  # the engine's canvas limit (params.ts gen_length <= 4096); --max-length raises it


class ImportError_(Exception):
    """A usage problem (bad --out etc.), reported like a CheckpointError."""


def parse_args(argv):
    p = argparse.ArgumentParser(prog="npm run import --", description=__doc__.split("\n\n")[0])
    p.add_argument("--from", dest="src", required=True, help="Hugging Face model folder (config.json, safetensors, tokenizer files)")
    p.add_argument("--out", required=True, help="bundle folder to create, e.g. models/llada-8b-instruct")
    p.add_argument("--dtype", choices=DTYPES, default="fp32", help="weight storage in the bundle (default fp32)")
    p.add_argument("--int4-block", type=int, choices=(16, 32, 64, 128), default=32,
                   help="int4: weights per quantization block along the input dimension (default 32)")
    p.add_argument("--int4-accuracy-level", type=int, choices=(0, 1, 2, 3, 4), default=0,
                   help="int4: MatMulNBits accuracy_level (0 = float32 activations, default; 4 = int8 activations, faster, less exact)")
    p.add_argument("--max-length", type=int, default=None,
                   help=f"longest sequence the bundle serves (default: the model's context, at most {DEFAULT_MAX_LENGTH})")
    p.add_argument("--name", default=None, help="model name in dllm.json (default: the --out folder's name)")
    p.add_argument("--force", action="store_true", help="replace an existing non-empty --out")
    p.add_argument("--no-parity", action="store_true", help="skip the reference-vs-graph check at import")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"import: {msg}", file=sys.stderr, flush=True)


def check_out(out: str, force: bool) -> None:
    if os.path.exists(out):
        if not os.path.isdir(out):
            raise ImportError_(f"--out {out} exists and is not a folder")
        if os.listdir(out) and not force:
            raise ImportError_(f"--out {out} exists and is not empty (pass --force to replace it)")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise ImportError_(f"--out {out}: parent folder {parent} does not exist")


def check_tokenizer_files(src: str) -> None:
    if os.path.isfile(os.path.join(src, "tokenizer.json")):
        return
    have = [f for f in ("vocab.json", "merges.txt") if os.path.isfile(os.path.join(src, f))]
    if len(have) < 2:
        raise CheckpointError(
            f"{src}: missing tokenizer files: expected tokenizer.json, or vocab.json + merges.txt (found {', '.join(have) or 'neither'})"
        )


def install(tmp: str, out: str) -> None:
    """Move the finished bundle into place; an existing --out (empty, or --force) is replaced."""
    old = None
    if os.path.exists(out):
        old = f"{tmp}.old"
        os.rename(out, old)
    os.rename(tmp, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def write_dllm_json(out_dir: str, dllm: dict) -> None:
    with open(os.path.join(out_dir, "dllm.json"), "w", encoding="utf-8") as f:
        json.dump(dllm, f, indent=2)
        f.write("\n")


def build_bundle(args, tmp: str) -> dict:
    src = args.src
    trained, _ = spec_from_config(read_config(src))
    max_length = args.max_length or min(trained.max_length, DEFAULT_MAX_LENGTH)
    spec, weights = open_checkpoint(src, max_length)
    config = weights.config
    variant = weights.variant
    ids = special_ids(src, config, spec.kind, spec.vocab_size)
    check_tokenizer_files(src)
    find_chat_template(src)  # a broken template fails before the long part
    name = args.name or os.path.basename(os.path.normpath(args.out))
    log(f"{variant.label}: {spec.n_layers} layers, d {spec.d_model}, {spec.n_heads}/{spec.n_kv_heads} heads, "
        f"vocab {spec.vocab_size}, {spec.attention}{'' if spec.block_size is None else f' block {spec.block_size}'}")

    try:
        import graph_builder  # imported here: every check above runs without onnx or the builder
    except ModuleNotFoundError as err:
        if err.name != "graph_builder":
            raise
        raise ImportError_(f"{os.path.dirname(os.path.abspath(__file__))}/graph_builder.py is missing: this checkout has no graph builder") from err

    tokenizer_how = write_tokenizer(src, tmp)
    template_file, template_source = write_chat_template(src, tmp)
    t0 = time.time()
    fragment = graph_builder.build_decoder(spec, weights, tmp, args.dtype, TOP_K, True,
                                           int4_block=args.int4_block, int4_accuracy=args.int4_accuracy_level)
    build_s = time.time() - t0
    log(f"graph and weights written in {build_s:.1f} s")

    dllm = {
        "format_version": 3,
        "name": name,
        "kind": spec.kind,
        "family": spec.family,
        "source": {
            "path": os.path.abspath(src),
            "name_or_path": config.get("_name_or_path"),
            "architectures": config.get("architectures"),
            "model_type": config.get("model_type"),
            "variant": variant.label,
            "trained_max_length": trained.max_length,
            "special_tokens": ids["sources"],
        },
        "vocab_size": spec.vocab_size,
        "max_length": spec.max_length,
        "mask_token_id": ids["mask"],
        "eos_token_id": ids["eos"],
        "eos_token_ids": ids["eos_ids"],
        "pad_token_id": ids["pad"],
        "bos_token_id": ids["bos"],
        "shift_logits": spec.shift_logits,
        "attention": {"type": spec.attention, "block_size": spec.block_size},
        "chat_template": template_file,
        "defaults": generation_defaults(spec, variant.label),
    }
    # the builder may echo what it built (attention); it must agree with what the importer decided
    clash = sorted(k for k in set(fragment) & {k for k in dllm if k not in ("graphs", "weights", "weights_dtype")}
                   if fragment[k] != dllm[k])
    if clash:
        raise RuntimeError(f"graph_builder.build_decoder returned fields the importer owns: {clash}")
    dllm.update(fragment)
    dllm.setdefault("top_k", TOP_K)
    dllm.setdefault("weights_dtype", WEIGHTS_DTYPE[args.dtype])

    write_dllm_json(tmp, dllm)
    parity = None
    if not args.no_parity:
        import import_parity

        log("measuring parity: built graph (onnxruntime-node) vs the NumPy reference")
        parity = import_parity.measure(spec, weights, tmp, dllm)
        dllm["parity"] = parity
        write_dllm_json(tmp, dllm)
        log(parity["summary"])
    write_model_card(tmp, src, spec, weights, dllm, args.dtype, tokenizer_how, template_source, parity, build_s)
    return dllm


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = os.path.normpath(args.out)
    tmp = os.path.join(os.path.dirname(os.path.abspath(out)), f".{os.path.basename(out)}.importing-{os.getpid()}")
    try:
        if not os.path.isdir(args.src):
            raise ImportError_(f"--from {args.src}: no such folder")
        check_out(out, args.force)
        os.mkdir(tmp)
        dllm = build_bundle(args, tmp)
        install(tmp, out)
    except (CheckpointError, ImportError_) as err:
        log(f"error: {err}")
        return 2
    except BaseException as err:  # noqa: BLE001 - any failure must leave no partial bundle
        if isinstance(err, KeyboardInterrupt):
            log("interrupted")
        else:
            log(f"error: {type(err).__name__}: {err}")
            traceback.print_exc(file=sys.stderr)
        return 1
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"wrote {out} ({dllm['name']}: {dllm['kind']}, {dllm['weights_dtype']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
