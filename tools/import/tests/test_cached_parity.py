"""Parity of the CACHED paths, per family: a tiny random checkpoint in each real layout is imported
with the real graph builder (fp32), and the engine's own OrtDecoderForward (run by onnxruntime-node
in tools/import/decode-server.ts) is fed the way the scheduler feeds it; every head it returns is
compared with reference.py (PyTorch, float64, the checkpoint's own tensor names), whose caches are its
OWN keys/values, never the graph's:

  full      run(): two rows, the second right-padded; the reference runs each row UNPADDED
  refresh   the whole sequence, head over the active block (shifted one left for Dream-style heads),
            presents compared with the reference's keys/values after RoPE
  dual      step(): the block (and the slot before it when shifted) against every other position of
            the refresh's cache; once with the refresh's own tokens (must equal the uncached forward),
            once after committing two tokens (against the reference fed its own stale cache)
  prefix    step(): the block and everything after it against the positions before it
  exact     decode(): block-causal (Fast-dLLM v2, SDAR) prefill of whole blocks, then an extend span
            that starts one slot left of the block when shifted; compared with the UNCACHED reference
            forward of the whole sequence (the cache is exact, not an approximation)
  causal    decode(): a Qwen2 AR twin, prefill then one-token spans against the growing KV cache,
            compared with the uncached reference at every position (teacher forcing)

Rows differ in length and block in every batch, so padding (query_mask, past_mask) is always in play.
Targets (fp32): top-1 identical at every compared position, max |dp| over the top-k <= 1e-4 (the
issue's), presents within 1e-4; entropy within 5e-4 nats (a float32 sum over 126k-152k terms: ~9e-5
measured, so 1e-4 would sit on the edge of a different CPU's rounding).
Figures: DLLM_PARITY_JSON=path writes them as JSON.
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import importlib  # noqa: E402

import reference  # noqa: E402
from test_import_parity import family_folder  # noqa: E402

importer = importlib.import_module("import")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
FAMILIES = ("llada", "dream", "fastdllm", "sdar", "qwen2")
MAX_DP, MAX_DENT, MAX_DKV = 1e-4, 5e-4, 1e-4
L0, L1 = 16, 11  # the two rows' lengths; row 1 is right-padded to L0
PROMPT = 5


class DecodeServer:
    """tools/import/decode-server.ts, one request per line."""

    def __init__(self):
        tsx = os.path.join(REPO, "node_modules", ".bin", "tsx")
        self.proc = subprocess.Popen([tsx, os.path.join(REPO, "tools", "import", "decode-server.ts")], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, bundle: str, call: str, batch: dict) -> dict:
        self.proc.stdin.write(json.dumps({"bundle": bundle, "call": call, "batch": batch}) + "\n")
        self.proc.stdin.flush()
        out = json.loads(self.proc.stdout.readline())
        if "error" in out:
            raise RuntimeError(f"{call}: {out['error']}")
        return out

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(30)
        self.proc.stdout.close()


def flat(a) -> list:
    return np.asarray(a).reshape(-1).tolist()


class Family:
    """One imported tiny checkpoint: its bundle, config, own tensors and topology."""

    def __init__(self, tmp: str, which: str):
        self.which = which
        src, self.bundle = os.path.join(tmp, which, "hf"), os.path.join(tmp, which, "bundle")
        family_folder(src, which)
        err = io.StringIO()
        with redirect_stderr(err):
            code = importer.main(["--from", src, "--out", self.bundle, "--max-length", "64", "--no-parity"])
        if code != 0:
            raise RuntimeError(err.getvalue())
        with open(os.path.join(self.bundle, "dllm.json")) as f:
            self.dllm = json.load(f)
        with open(os.path.join(src, "config.json")) as f:
            self.config = json.load(f)
        self.t = reference.load_hf_tensors(src)
        self.topology = self.dllm["attention"]["type"]
        self.block = self.dllm["attention"]["block_size"]
        self.lead = 1 if self.dllm["shift_logits"] else 0
        c = self.dllm["cache"]
        self.layers, self.heads, self.hd = c["layers"], c["heads"], c["head_dim"]
        rng = np.random.default_rng(11)
        V = self.dllm["vocab_size"]
        self.rows = [rng.integers(0, V, n) for n in (L0, L1)]
        if self.dllm["kind"] == "masked-diffusion":  # masks on the canvas, as mid-decoding
            for r in self.rows:
                m = rng.choice(np.arange(PROMPT, len(r)), (len(r) - PROMPT) // 2, replace=False)
                r[m] = self.dllm["mask_token_id"]
        self.pad = self.dllm["pad_token_id"]

    def ref(self, ids, positions, past=None, past_mask=None, return_kv=False):
        """Reference logits (float64) of one row [L] (and its per-layer keys/values)."""
        ids = torch.tensor(np.asarray(ids)[None])
        pos = torch.tensor(np.asarray(positions)[None])
        pm = None if past_mask is None else torch.tensor(np.asarray(past_mask)[None])
        return reference.forward(self.config, self.t, ids, pos, torch.ones_like(ids), self.topology, self.block,
                                 past=past, past_mask=pm, return_kv=return_kv)

    def padded(self, seqs: list, fill: int) -> tuple[list, list]:
        n = max(len(s) for s in seqs)
        ids = [list(s) + [fill] * (n - len(s)) for s in seqs]
        mask = [[1] * len(s) + [0] * (n - len(s)) for s in seqs]
        return ids, mask

    def graph_kv(self, out: dict, rows: int, span: int):
        """presents [rows, layers, heads, span, hd]"""
        shape = (rows, self.layers, self.heads, span, self.hd)
        return np.array(out["keys"]).reshape(shape), np.array(out["values"]).reshape(shape)

    def dummy_past(self, rows: int) -> dict:
        z = [0.0] * (rows * self.heads * self.hd)
        return {"cached": 1, "pastKeys": [z] * self.layers, "pastValues": [z] * self.layers, "pastMask": [0] * rows}


class Figures:
    def __init__(self):
        self.by = {}

    def compare(self, test, label: str, out: dict, r: int, slot: int, logits: torch.Tensor):
        """Graph head row r, head slot `slot` vs reference logits [V] of the same position."""
        h = out["head"]
        k, length = h["k"], h["length"]
        at = r * length + slot
        ids = np.array(h["top_ids"][at * k:(at + 1) * k])
        probs = np.array(h["top_probs"][at * k:(at + 1) * k])
        logp = torch.log_softmax(logits, -1)
        p = logp.exp()
        ref_ent = float(-(p * logp).sum())
        f = self.by.setdefault(label, {"positions": 0, "top1_agree": 0, "max_abs_dp_topk": 0.0, "max_abs_d_entropy": 0.0})
        f["positions"] += 1
        f["top1_agree"] += int(ids[0] == int(p.argmax()))
        f["max_abs_dp_topk"] = max(f["max_abs_dp_topk"], float(np.max(np.abs(probs - p.numpy()[ids]))))
        f["max_abs_d_entropy"] = max(f["max_abs_d_entropy"], abs(h["entropy"][at] - ref_ent))

    def kv(self, label: str, graph: np.ndarray, ref: torch.Tensor):
        f = self.by.setdefault(label, {"positions": 0, "top1_agree": 0, "max_abs_dp_topk": 0.0, "max_abs_d_entropy": 0.0})
        f["max_abs_d_presents"] = max(f.get("max_abs_d_presents", 0.0), float(np.max(np.abs(graph - ref.numpy()))))


def bidirectional_cases(fam: Family, srv: DecodeServer, fig: Figures, test):
    """full is run for every family elsewhere; here refresh, dual and prefix steps (LLaDA, Dream)."""
    w, lead = fam.which, fam.lead
    blocks = [(8, 12), (4, 8)]  # each row's active block
    seqs = [list(map(int, r)) for r in fam.rows]
    ids, mask = fam.padded(seqs, fam.pad)
    heads = [[p - lead for p in range(b, e)] for b, e in blocks]
    out = srv.call(fam.bundle, "refresh", {"rows": 2, "length": L0, "ids": flat(ids), "attention": flat(mask),
                                          "headLength": 4, "headPositions": flat(heads)})
    gk, gv = fam.graph_kv(out, 2, L0)
    ref_kv = []
    for r, s in enumerate(seqs):
        logits, kv = fam.ref(s, range(len(s)), return_kv=True)
        ref_kv.append(kv)
        for j, p in enumerate(heads[r]):
            fig.compare(test, f"{w} refresh", out, r, j, logits[0, p])
        for layer, (k, v) in enumerate(kv):
            fig.kv(f"{w} refresh", gk[r, layer, :, :len(s)], k[0])
            fig.kv(f"{w} refresh", gv[r, layer, :, :len(s)], v[0])

    def past_of(r, lo, hi, n):
        """graph and reference caches of row r, positions [lo, hi) padded to n slots"""
        g = [[], []]
        for layer in range(fam.layers):
            for which, src in ((0, gk), (1, gv)):
                a = np.zeros((fam.heads, n, fam.hd), np.float32)
                a[:, :hi - lo] = src[r, layer, :, lo:hi]
                g[which].append(a)
        return g

    # dual: span [b - lead, e) against all positions, the span's own masked out; first with the
    # refresh's tokens (then it must equal the uncached forward), then after committing two tokens
    rng = np.random.default_rng(5)
    committed = []
    for r, (b, e) in enumerate(blocks):
        s = list(seqs[r])
        masked = [p for p in range(b, e) if s[p] == fam.dllm["mask_token_id"]][:2]
        for p in masked:
            s[p] = int(rng.integers(0, fam.dllm["vocab_size"]))
        committed.append(s)
    for label, rows in ((f"{w} dual (cache fresh)", seqs), (f"{w} dual (2 committed)", committed)):
        span = [list(range(b - lead, e)) for b, e in blocks]
        n = len(span[0])
        past_k = [np.zeros((2, fam.heads, L0, fam.hd), np.float32) for _ in range(fam.layers)]
        past_v = [np.zeros((2, fam.heads, L0, fam.hd), np.float32) for _ in range(fam.layers)]
        past_mask = np.zeros((2, L0), np.int64)
        for r in range(2):
            pk, pv = past_of(r, 0, L0, L0)
            for layer in range(fam.layers):
                past_k[layer][r], past_v[layer][r] = pk[layer], pv[layer]
            past_mask[r, :len(seqs[r])] = 1
            past_mask[r, span[r]] = 0
        out = srv.call(fam.bundle, "step", {
            "rows": 2, "span": n, "ids": flat([[rows[r][p] for p in span[r]] for r in range(2)]),
            "positions": flat(span), "queryMask": [1] * (2 * n), "cached": L0,
            "pastKeys": [flat(a) for a in past_k], "pastValues": [flat(a) for a in past_v], "pastMask": flat(past_mask)})
        for r in range(2):
            if rows is seqs:  # fresh cache: the cached step is the uncached forward
                logits = fam.ref(seqs[r], range(len(seqs[r])))[0, span[r]]
            else:  # the reference's own stale cache, masked the same way
                kv = [(k[:, :, :L0], v[:, :, :L0]) for k, v in ref_kv[r]]
                kv = [(torch.nn.functional.pad(k, (0, 0, 0, L0 - k.shape[2])), torch.nn.functional.pad(v, (0, 0, 0, L0 - v.shape[2]))) for k, v in kv]
                logits = fam.ref([rows[r][p] for p in span[r]], span[r], past=kv, past_mask=past_mask[r])[0]
            for j in range(n):
                fig.compare(test, label, out, r, j, logits[j])

    # prefix: span [b - lead, len) against [0, b - lead), committed tokens
    froms = [b - lead for b, _ in blocks]
    spans = [list(range(f, len(committed[r]))) for r, f in enumerate(froms)]
    span_ids, qmask = fam.padded([[committed[r][p] for p in sp] for r, sp in enumerate(spans)], fam.pad)
    span_pos, _ = fam.padded(spans, 0)
    n, c = len(span_ids[0]), max(froms)
    past_k = [np.zeros((2, fam.heads, c, fam.hd), np.float32) for _ in range(fam.layers)]
    past_v = [np.zeros((2, fam.heads, c, fam.hd), np.float32) for _ in range(fam.layers)]
    past_mask = np.zeros((2, c), np.int64)
    for r, f in enumerate(froms):
        pk, pv = past_of(r, 0, f, c)
        for layer in range(fam.layers):
            past_k[layer][r], past_v[layer][r] = pk[layer], pv[layer]
        past_mask[r, :f] = 1
    out = srv.call(fam.bundle, "step", {
        "rows": 2, "span": n, "ids": flat(span_ids), "positions": flat(span_pos), "queryMask": flat(qmask),
        "cached": c, "pastKeys": [flat(a) for a in past_k], "pastValues": [flat(a) for a in past_v],
        "pastMask": flat(past_mask)})
    for r, f in enumerate(froms):
        kv = [(k[:, :, :f], v[:, :, :f]) for k, v in ref_kv[r]]
        logits = fam.ref([committed[r][p] for p in spans[r]], spans[r], past=kv, past_mask=np.ones(f, np.int64))[0]
        for j in range(len(spans[r])):
            fig.compare(test, f"{w} prefix", out, r, j, logits[j])


def exact_cases(fam: Family, srv: DecodeServer, fig: Figures, test):
    """Block-causal (blocks of fam.block) or causal (one-token spans): prefill, then extends against
    the graph's own presents; always compared with the UNCACHED reference of the whole row."""
    w, lead = fam.which, fam.lead
    seqs = [list(map(int, r)) for r in fam.rows]
    full = [fam.ref(s, range(len(s)))[0] for s in seqs]
    causal = fam.topology == "causal"
    label = f"{w} {'causal KV' if causal else 'exact block cache'}"
    if causal:
        cached = [PROMPT, 3]
        extends = [[(t, t + 1) for t in range(c, c + 4)] for c in cached]  # one token per forward
    else:
        bs = fam.block
        cached = [2 * bs, bs]
        extends = [[(c, c + bs)] for c in cached]  # the next graph block
    # prefill [0, cached)
    spans = [list(range(c)) for c in cached]
    span_ids, qmask = fam.padded([[seqs[r][p] for p in sp] for r, sp in enumerate(spans)], fam.pad)
    span_pos, _ = fam.padded(spans, 0)
    n = len(span_ids[0])
    out = srv.call(fam.bundle, "decode", {
        "rows": 2, "span": n, "ids": flat(span_ids), "positions": flat(span_pos), "queryMask": flat(qmask),
        **fam.dummy_past(2), "headLength": n, "headSlots": flat([list(range(n))] * 2), "presents": True})
    gk, gv = fam.graph_kv(out, 2, n)
    cache = [[gk[r, :, :, :c], gv[r, :, :, :c]] for r, c in enumerate(cached)]  # [layers, heads, c, hd]
    for r, c in enumerate(cached):
        for j in range(c):
            fig.compare(test, f"{label} prefill", out, r, j, full[r][j])
    for step in range(len(extends[0])):
        # the span starts one slot left when shifted; that slot's cached entry is left out of the past
        froms = [extends[r][step][0] - lead for r in range(2)]
        tos = [extends[r][step][1] for r in range(2)]
        spans = [list(range(f, t)) for f, t in zip(froms, tos)]
        span_ids, qmask = fam.padded([[seqs[r][p] for p in sp] for r, sp in enumerate(spans)], fam.pad)
        span_pos, _ = fam.padded(spans, 0)
        n, c = len(span_ids[0]), max(froms)
        past_k = [np.zeros((2, fam.heads, c, fam.hd), np.float32) for _ in range(fam.layers)]
        past_v = [np.zeros((2, fam.heads, c, fam.hd), np.float32) for _ in range(fam.layers)]
        past_mask = np.zeros((2, c), np.int64)
        for r, f in enumerate(froms):
            for layer in range(fam.layers):
                past_k[layer][r, :, :f] = cache[r][0][layer, :, :f]
                past_v[layer][r, :, :f] = cache[r][1][layer, :, :f]
            past_mask[r, :f] = 1
        out = srv.call(fam.bundle, "decode", {
            "rows": 2, "span": n, "ids": flat(span_ids), "positions": flat(span_pos), "queryMask": flat(qmask),
            "cached": c, "pastKeys": [flat(a) for a in past_k], "pastValues": [flat(a) for a in past_v],
            "pastMask": flat(past_mask), "headLength": n, "headSlots": flat([list(range(n))] * 2), "presents": True})
        gk, gv = fam.graph_kv(out, 2, n)
        for r, sp in enumerate(spans):
            for j, p in enumerate(sp):
                fig.compare(test, f"{label} extend", out, r, j, full[r][p])
            # append the span's final positions (those not in the cache yet) from its presents
            have = cache[r][0].shape[2]
            add = [j for j, p in enumerate(sp) if p >= have]
            cache[r][0] = np.concatenate([cache[r][0], gk[r][:, :, add]], 2)
            cache[r][1] = np.concatenate([cache[r][1], gv[r][:, :, add]], 2)


class CachedParity(unittest.TestCase):
    def test_every_family_every_cached_path(self):
        fig = Figures()
        srv = DecodeServer()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                for which in FAMILIES:
                    fam = Family(tmp, which)
                    seqs = [list(map(int, r)) for r in fam.rows]
                    ids, mask = fam.padded(seqs, fam.pad)
                    out = srv.call(fam.bundle, "run", {"rows": 2, "length": L0, "ids": flat(ids), "attention": flat(mask)})
                    for r, s in enumerate(seqs):
                        logits = fam.ref(s, range(len(s)))[0]  # the UNPADDED row
                        for j in range(len(s)):
                            fig.compare(self, f"{which} full (padded batch)", out, r, j, logits[j])
                    if fam.topology == "bidirectional":
                        bidirectional_cases(fam, srv, fig, self)
                    else:
                        exact_cases(fam, srv, fig, self)
        finally:
            srv.close()
        width = max(map(len, fig.by))
        for label, f in fig.by.items():
            print(f"{label:<{width}}  top-1 {f['top1_agree']}/{f['positions']}  max|dp| {f['max_abs_dp_topk']:.2e}"
                  f"  max|dH| {f['max_abs_d_entropy']:.2e}" + (f"  max|dKV| {f['max_abs_d_presents']:.2e}" if "max_abs_d_presents" in f else ""),
                  file=sys.stderr)
        if os.environ.get("DLLM_PARITY_JSON"):
            with open(os.environ["DLLM_PARITY_JSON"], "w") as f:
                json.dump(fig.by, f, indent=1)
        for label, f in fig.by.items():
            with self.subTest(case=label):
                self.assertGreater(f["positions"], 0)
                self.assertEqual(f["top1_agree"], f["positions"], f)
                self.assertLessEqual(f["max_abs_dp_topk"], MAX_DP, f)
                self.assertLessEqual(f["max_abs_d_entropy"], MAX_DENT, f)
                self.assertLessEqual(f.get("max_abs_d_presents", 0.0), MAX_DKV, f)
        labels = " ".join(fig.by)
        for needed in ("llada dual", "llada prefix", "dream dual", "dream prefix", "fastdllm exact", "sdar exact",
                       "qwen2 causal KV extend"):
            self.assertIn(needed, labels)


if __name__ == "__main__":
    unittest.main()
