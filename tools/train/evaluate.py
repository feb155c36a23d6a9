"""Validation numbers for the model card: masked-token accuracy at several mask ratios next to two
count baselines on the very same masks, and a check that predictions depend on context.

Baselines (counted on the train split only):
- unigram: always the most frequent train token;
- neighbours: (previous, next) -> most frequent middle token, using only neighbours that are visible
  (not masked); backs off to (previous) or (next) bigram counts, then to the unigram.
"""
import argparse
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import torch

from data import eval_windows, fixed_masks, load_meta, load_split
from export import load_model


def argmax_table(counter_by_key: dict) -> dict:
    return {k: c.most_common(1)[0][0] for k, c in counter_by_key.items()}


def count_tables(train: torch.Tensor):
    t = train.tolist()
    uni = Counter(t)
    tri, left, right = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    for a, b, c in zip(t, t[1:], t[2:]):
        tri[(a, c)][b] += 1
        left[a][b] += 1  # previous -> middle
        right[c][b] += 1  # next -> middle
    return uni.most_common(1)[0][0], argmax_table(tri), argmax_table(left), argmax_table(right)


def baseline_predictions(x: torch.Tensor, m: torch.Tensor, tables) -> tuple[torch.Tensor, torch.Tensor]:
    top, tri, left, right = tables
    uni_pred = torch.full_like(x, top)
    nb_pred = torch.full_like(x, top)
    B, L = x.shape
    xs, ms = x.tolist(), m.tolist()
    for i in range(B):
        for j in range(L):
            if not ms[i][j]:
                continue
            p = xs[i][j - 1] if j > 0 and not ms[i][j - 1] else None
            n = xs[i][j + 1] if j + 1 < L and not ms[i][j + 1] else None
            guess = None
            if p is not None and n is not None:
                guess = tri.get((p, n))
            if guess is None and p is not None:
                guess = left.get(p)
            if guess is None and n is not None:
                guess = right.get(n)
            nb_pred[i, j] = top if guess is None else guess
    return uni_pred, nb_pred


@torch.no_grad()
def model_predictions(model, x, m, mask_id, batch=32) -> torch.Tensor:
    out = []
    for i in range(0, len(x), batch):
        inp = torch.where(m[i : i + batch], torch.full_like(x[i : i + batch], mask_id), x[i : i + batch])
        out.append(model(inp, torch.ones_like(inp)).argmax(-1))
    return torch.cat(out)


@torch.no_grad()
def context_sensitivity(model, x, mask_id, n_rows=16) -> dict:
    """Mask position j; then also mask its left neighbour. How far does the prediction at j move?"""
    x = x[:n_rows]
    j = x.shape[1] // 2
    one = x.clone()
    one[:, j] = mask_id
    two = one.clone()
    two[:, j - 1] = mask_id
    p1 = model(one, torch.ones_like(one))[:, j].softmax(-1)
    p2 = model(two, torch.ones_like(two))[:, j].softmax(-1)
    tv = 0.5 * (p1 - p2).abs().sum(-1)
    return {"positions": n_rows, "mean_total_variation": round(float(tv.mean()), 4),
            "argmax_changed_fraction": round(float((p1.argmax(-1) != p2.argmax(-1)).float().mean()), 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train-dir", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--windows", type=int, default=384, help="validation windows of max_length tokens")
    ap.add_argument("--ratios", default="0.15,0.5,0.9")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    meta = load_meta(args.data)
    model = load_model(args.train_dir)
    L = model.config.max_len
    x = eval_windows(load_split(args.data, "val"), L, args.windows)
    tables = count_tables(load_split(args.data, "train"))
    rows = []
    for k, ratio in enumerate(float(r) for r in args.ratios.split(",")):
        m = fixed_masks(tuple(x.shape), ratio, seed=100 + k)
        pred = model_predictions(model, x, m, meta["mask_id"])
        uni, nb = baseline_predictions(x, m, tables)
        acc = lambda p: round(float((p[m] == x[m]).float().mean()), 4)  # noqa: E731
        rows.append({"mask_ratio": ratio, "masked_tokens": int(m.sum()), "model": acc(pred), "most_frequent_token": acc(uni), "neighbour_count": acc(nb)})
        print(json.dumps(rows[-1]), flush=True)
    result = {"windows": len(x), "window_length": L, "accuracy": rows, "context": context_sensitivity(model, x, meta["mask_id"])}
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["context"]))


if __name__ == "__main__":
    main()
