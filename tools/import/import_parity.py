"""Parity measured at import: the written bundle's decoder graph (run by onnxruntime-node through
the engine's own loader, tools/import/parity-run.ts) against reference_stream.py (NumPy, from the
checkpoint's float32-widened weights) on a few fixed sequences. Figures, not a pass/fail gate for
fp16/int4; for fp32 the targets (top-1 identical, max |dp| <= 1e-4) are checked and stated."""
import json
import os
import subprocess

import numpy as np

from reference_stream import reference_head

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LENGTHS = (12, 7)
FP32_MAX_DP = 1e-4


def sequences(spec, dllm) -> list[list[int]]:
    rng = np.random.default_rng(20261203)
    specials = set(dllm["eos_token_ids"]) | {dllm["pad_token_id"], dllm["mask_token_id"]}
    rows = []
    for n in LENGTHS:
        ids = [int(i) for i in rng.integers(0, spec.vocab_size, n)]
        ids = [i if i not in specials else 0 for i in ids]
        if spec.kind == "masked-diffusion":  # a third masked, as in a decoding step
            for j in rng.choice(n, n // 3, replace=False):
                ids[int(j)] = dllm["mask_token_id"]
        rows.append(ids)
    return rows


def run_graph(bundle_dir: str, rows: list[list[int]]) -> dict:
    tsx = os.path.join(REPO, "node_modules", ".bin", "tsx")
    script = os.path.join(REPO, "tools", "import", "parity-run.ts")
    run = subprocess.run([tsx, script, bundle_dir, json.dumps(rows)], cwd=REPO, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"parity run of the built graph failed: {run.stderr.strip()[-2000:]}")
    return json.loads(run.stdout)


def measure(spec, weights, bundle_dir: str, dllm: dict) -> dict:
    rows = sequences(spec, dllm)
    graph = run_graph(bundle_dir, rows)
    k = dllm["top_k"]
    positions = agree = 0
    max_dp = max_dent = 0.0
    for ids, g in zip(rows, graph["rows"]):
        ref_ids, _, ref_ent, ref_probs = reference_head(spec, weights, np.array(ids), k)
        g_ids = np.array(g["top_ids"]).reshape(len(ids), g["k"])
        g_probs = np.array(g["top_probs"]).reshape(len(ids), g["k"])
        for p in range(len(ids)):
            positions += 1
            agree += int(g_ids[p, 0] == ref_ids[p, 0])
            max_dp = max(max_dp, float(np.max(np.abs(g_probs[p] - ref_probs[p, g_ids[p]]))))
            max_dent = max(max_dent, abs(float(g["entropy"][p]) - float(ref_ent[p])))
    dtype = dllm.get("weights_dtype")
    result = {
        "reference": "tools/import/reference_stream.py (NumPy, float32 weights widened from the checkpoint)",
        "graph": f"{dllm['graphs']['decoder']} ({dtype}) in onnxruntime-node {graph.get('provider', 'cpu')}",
        "sequences": [len(r) for r in rows],
        "positions": positions,
        "top1_agreement": agree / positions,
        "max_abs_dp_topk": max_dp,
        "max_abs_d_entropy": max_dent,
    }
    verdict = ""
    if dtype == "float32":
        ok = agree == positions and max_dp <= FP32_MAX_DP
        result["fp32_targets_met"] = ok
        verdict = f" fp32 targets (top-1 identical, max |dp| <= {FP32_MAX_DP:g}): {'met' if ok else 'NOT met'}."
    result["summary"] = (
        f"On {positions} positions of {len(rows)} fixed random sequences ({', '.join(map(str, LENGTHS))} tokens"
        + (", a third masked" if spec.kind == "masked-diffusion" else "")
        + f"), the {dtype} graph's top-1 agrees with the float32 reference at {agree}/{positions};"
        f" max |dp| over the top-{k} = {max_dp:.3g}, max |d entropy| = {max_dent:.3g} nats." + verdict
    )
    return result
