"""npm run bench:import-agreement  (flock /tmp/dllm-bench.lock ... when other benches may run)

How far fp16 and int4 bundles are from fp32, per family, on the tiny checkpoints of the tests
(tools/import/tests: each family's real layout and tensor names, real vocabulary, random weights):
each variant is imported with `npm run import` (--dtype, --int4-block, --int4-accuracy-level), its
graph run by onnxruntime-node through the engine's loader (tools/import/parity-run.ts), and compared
on 96 positions (three 32-token sequences, a third masked for diffusion models) with the float32
NumPy reference (tools/import/reference_stream.py): top-1 agreement, max and mean |dp| over the top-k.

Two kinds of checkpoint, because int4's top-1 agreement is a property of the MODEL's margins as much
as of the quantizer: "random" is the tests' checkpoint (embedding/head scaled 4/sqrt(d): flat output
distributions, top-1 probabilities of a few percent), "confident" scales the embedding/head so the
reference's median top-1 probability is in the range of a trained LM's. The median top-1 probability
is reported with each.

For int4 a second comparison separates the graph from the quantizer: the same reference run on the
weights the graph holds (each quantized then dequantized exactly as graph_builder does, embedding and
large norms rounded to fp16). Agreement there says MatMulNBits computes what we packed; the
distance to fp32 is then the quantization itself.

Writes bench/results/import-agreement.json.
"""
import dataclasses
import importlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stderr

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools", "import"))
sys.path.insert(0, os.path.join(REPO, "tools", "import", "tests"))

import import_parity  # noqa: E402
from families import open_checkpoint  # noqa: E402
from graph_builder import INLINE_MAX_ELEMENTS, dequantize_int4, quantize_int4  # noqa: E402
from reference_stream import reference_head  # noqa: E402
from test_import_parity import family_folder  # noqa: E402

importer = importlib.import_module("import")
import_parity.LENGTHS = (32, 32, 32)
FAMILIES = ("llada", "dream", "fastdllm", "sdar", "qwen2")
CHECKPOINTS = {"random": 4.0, "confident": 16.0}  # embedding/head scale, times 1/sqrt(d)
VARIANTS = [
    ("fp16", ["--dtype", "fp16"]),
    ("int4 block 32", ["--dtype", "int4", "--int4-block", "32"]),
    ("int4 block 16", ["--dtype", "int4", "--int4-block", "16"]),
    ("int4 block 32, accuracy_level 4", ["--dtype", "int4", "--int4-block", "32", "--int4-accuracy-level", "4"]),
]
LINEAR = ("q.weight", "k.weight", "v.weight", "o.weight", "gate.weight", "up.weight", "down.weight")


class AsQuantized:
    """The weights an int4 graph holds, as float32: linears (and the head) quantized + dequantized
    with the graph's block size, the embedding and norms over INLINE_MAX_ELEMENTS rounded to fp16."""

    def __init__(self, weights, spec, block: int):
        self.w, self.spec, self.block = weights, spec, block

    def names(self):
        return self.w.names()

    def load(self, name: str) -> np.ndarray:
        if name == "lm_head" and self.spec.tied_embeddings:
            name_src = "embed"
        else:
            name_src = name
        a = self.w.load(name_src)
        if name.endswith(LINEAR) or name == "lm_head":
            packed, scales = quantize_int4(a, self.block)
            return dequantize_int4(packed, scales, a.shape[1])
        if name.endswith(".bias") or a.size <= INLINE_MAX_ELEMENTS:
            return a
        return a.astype(np.float16).astype(np.float32)


def stats(graph: dict, refs: list) -> dict:
    """graph rows vs reference_head outputs: top-1 agreement, max and mean |dp| over the graph's top-k"""
    agree = n = 0
    max_dp = total = 0.0
    for g, (ref_ids, _, _, probs) in zip(graph["rows"], refs):
        gi = np.array(g["top_ids"]).reshape(len(ref_ids), g["k"])
        d = np.abs(np.array(g["top_probs"]).reshape(gi.shape) - np.take_along_axis(probs, gi, 1))
        agree += int((gi[:, 0] == ref_ids[:, 0]).sum())
        n += len(ref_ids)
        max_dp, total = max(max_dp, float(d.max())), total + float(d.sum())
    return {"positions": n, "top1_agreement": agree / n, "max_abs_dp_topk": max_dp,
            "mean_abs_dp_topk": total / (n * graph["rows"][0]["k"])}


def main() -> None:
    t0 = time.time()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for ckpt, scale in CHECKPOINTS.items():
            for which in FAMILIES:
                src = os.path.join(tmp, f"{which}-{ckpt}")
                family_folder(src, which, head_scale=scale)
                spec, weights = open_checkpoint(src, 128)
                refs, own_refs = None, {}
                for label, flags in [("fp32", ["--dtype", "fp32"])] + VARIANTS:
                    out = os.path.join(tmp, f"{which}-{ckpt}-{len(results)}")
                    err = io.StringIO()
                    with redirect_stderr(err):
                        code = importer.main(["--from", src, "--out", out, "--max-length", "128", "--no-parity", *flags])
                    if code != 0:
                        raise RuntimeError(err.getvalue())
                    with open(os.path.join(out, "dllm.json")) as f:
                        dllm = json.load(f)
                    if refs is None:  # the same rows for every variant of this checkpoint
                        rows = import_parity.sequences(spec, dllm)
                        refs = [reference_head(spec, weights, np.array(ids), dllm["top_k"]) for ids in rows]
                    graph = import_parity.run_graph(out, rows)
                    entry = {"family": which, "checkpoint": ckpt, "variant": label, **stats(graph, refs),
                             "bundle_bytes": sum(os.path.getsize(os.path.join(out, f)) for f in ("model.onnx", "weights.bin"))}
                    if label == "fp32":
                        entry["reference_median_top1_prob"] = statistics.median(float(p) for r in refs for p in r[1][:, 0])
                    if "quantization" in dllm:
                        block = dllm["quantization"]["block_size"]
                        if block not in own_refs:
                            own = AsQuantized(weights, spec, block)
                            untied = dataclasses.replace(spec, tied_embeddings=False)
                            own_refs[block] = [reference_head(untied, own, np.array(ids), dllm["top_k"]) for ids in rows]
                        own_stats = stats(graph, own_refs[block])
                        entry["vs_reference_on_its_own_quantized_weights"] = {
                            k: own_stats[k] for k in ("top1_agreement", "max_abs_dp_topk", "mean_abs_dp_topk")}
                    results.append(entry)
                    print(json.dumps(entry), file=sys.stderr, flush=True)
    summary = {}
    for e in results:
        s = summary.setdefault(f"{e['checkpoint']} / {e['variant']}", {"top1": [], "max_dp": [], "mean_dp": []})
        s["top1"].append(e["top1_agreement"])
        s["max_dp"].append(e["max_abs_dp_topk"])
        s["mean_dp"].append(e["mean_abs_dp_topk"])
    report = {
        "benchmark": "import-agreement",
        "command": "npm run bench:import-agreement",
        "what": __doc__.split("\n\n")[1].replace("\n", " "),
        "summary_over_families": {k: {"top1_agreement_min": min(v["top1"]), "top1_agreement_mean": statistics.mean(v["top1"]),
                                      "max_abs_dp_topk": max(v["max_dp"]), "mean_abs_dp_topk": statistics.mean(v["mean_dp"])}
                                  for k, v in summary.items()},
        "results": results,
        "machine": f"{os.cpu_count()} cores, shared with other work",
        "seconds": round(time.time() - t0, 1),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "results", "import-agreement.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(json.dumps(report["summary_over_families"], indent=1))


if __name__ == "__main__":
    main()
