"""Train the masked-diffusion denoiser. Same command on CPU or CUDA; fixed seeds; resumable.

Objective (MDLM / LLaDA): t ~ U(eps, 1) per row (stratified over the batch), each token masked with
probability t, cross-entropy on masked positions weighted by 1/t. A warm-up curriculum first uses
low mask ratios and an unweighted loss, then anneals to exactly that objective.
"""
import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from data import eval_windows, fixed_masks, load_meta, load_split, sample_windows
from model import Denoiser, ModelConfig


def init_weights(path: Path) -> Denoiser:
    """A model to start from: a bundle (weights read back from its graph) or a train.py output folder."""
    if (path / "dllm.json").exists():
        from reexport import load_model_from_bundle
        return load_model_from_bundle(path)[0]
    from export import load_model
    return load_model(path)

EPS = 1e-3


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with train.bin, val.bin, meta.json")
    ap.add_argument("--out", type=Path, required=True, help="where weights, config and the log go")
    ap.add_argument("--ckpt", type=Path, default=None, help="resumable checkpoint path (default OUT/ckpt.pt)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=400)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--curriculum-frac", type=float, default=0.25, help="share of steps before the full objective")
    ap.add_argument("--pad-frac", type=float, default=0.2, help="rows shortened with right padding (robustness)")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--ckpt-every", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--max-minutes", type=float, default=0, help="safety stop: save and end early after this long (0 = off)")
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--n-layers", type=int, default=5)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start from these weights (a bundle folder with dllm.json, or a train.py output folder); "
                         "width/depth/heads come from there, the context from --seq-len")
    ap.add_argument("--confidence-weight", type=float, default=0.0,
                    help="LLaDA2-CAP confidence loss: this times the mean entropy at masked positions the model already predicts right")
    return ap.parse_args()


def lr_at(step: int, a) -> float:
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def curriculum(step: int, a) -> tuple[float, float]:
    """(largest mask ratio, weight of the 1/t objective): (0.35, 0) at start -> (1, 1) after the warm-up phase."""
    p = min(1.0, step / max(1, a.curriculum_frac * a.steps))
    return 0.35 + 0.65 * p, p


def make_batch(x: torch.Tensor, step: int, a, gen: torch.Generator, mask_id: int, pad_id: int):
    B, L = x.shape
    t_max, anneal = curriculum(step, a)
    u = (torch.rand(1, generator=gen) + torch.arange(B) / B) % 1.0  # stratified t: lower variance
    t = EPS + (t_max - EPS) * u  # [B]
    lengths = torch.full((B,), L)
    short = torch.rand(B, generator=gen) < a.pad_frac
    lengths[short] = torch.randint(16, L, (int(short.sum()),), generator=gen)
    attn = (torch.arange(L)[None, :] < lengths[:, None]).long()  # [B,L]
    masked = (torch.rand(B, L, generator=gen) < t[:, None]) & attn.bool()
    inp = torch.where(masked, torch.full_like(x, mask_id), x)
    inp = torch.where(attn.bool(), inp, torch.full_like(x, pad_id))
    return inp, attn, masked, t, anneal


def diffusion_loss(logits, targets, masked, attn, t, anneal):
    ce = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none") * masked  # [B,L]
    unweighted = ce.sum() / masked.sum().clamp(min=1)
    mdlm = (ce.sum(dim=1) / t).sum() / attn.sum()  # E_t[(1/t) * sum over masked CE] per token
    return (1 - anneal) * unweighted + anneal * mdlm


def confidence_loss(logits, targets, masked):
    """LLaDA2-CAP: mean entropy over masked positions whose top-1 prediction is already right. Sharpens
    what the model knows (so a threshold sampler commits more per step) without pushing its mistakes."""
    with torch.no_grad():
        right = (logits.argmax(-1) == targets) & masked  # [B,L]
    logp = logits.float().log_softmax(-1)
    entropy = -(logp.exp() * logp).sum(-1)  # [B,L]
    return (entropy * right).sum() / right.sum().clamp(min=1)


@torch.no_grad()
def masked_accuracy(model, windows, ratio, mask_id, device, seed=0, batch=64) -> float:
    model.eval()
    masks = fixed_masks(tuple(windows.shape), ratio, seed)
    hit = total = 0
    for i in range(0, len(windows), batch):
        x, m = windows[i : i + batch], masks[i : i + batch]
        inp = torch.where(m, torch.full_like(x, mask_id), x).to(device)
        pred = model(inp, torch.ones_like(inp)).argmax(-1).cpu()
        hit += int((pred[m] == x[m]).sum())
        total += int(m.sum())
    model.train()
    return hit / max(1, total)


def save_weights(model: Denoiser, out: Path, shard_bytes: int = 12 << 20) -> list[str]:
    """fp32 weights in shards under shard_bytes (the file size some transports cap)."""
    shards, cur, size = [], {}, 0
    for k, v in model.state_dict().items():
        n = v.numel() * v.element_size()
        if cur and size + n > shard_bytes:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = v.detach().float().cpu().clone()
        size += n
    shards.append(cur)
    names = []
    for i, s in enumerate(shards):
        name = f"weights-{i}.pt"
        torch.save(s, out / name)
        names.append(name)
    return names


def main():
    a = parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = a.ckpt or (a.out / "ckpt.pt")
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device))
    if device.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(a.seed)
    meta = load_meta(a.data)
    train, val = load_split(a.data, "train"), load_split(a.data, "val")
    cfg = ModelConfig(vocab_size=meta["vocab_size"], max_len=a.seq_len, d_model=a.d_model, n_layers=a.n_layers, n_heads=a.n_heads,
                      dropout=a.dropout, suppressed_ids=(meta["pad_id"], meta["mask_id"]))
    init_state = None
    if a.init_from:
        source = init_weights(a.init_from)
        c0 = source.config
        cfg = ModelConfig(vocab_size=c0.vocab_size, max_len=a.seq_len, d_model=c0.d_model, n_layers=c0.n_layers, n_heads=c0.n_heads,
                          mlp_ratio=c0.mlp_ratio, conv_kernel=c0.conv_kernel, dropout=a.dropout, suppressed_ids=c0.suppressed_ids)
        init_state = source.state_dict()  # rotary tables are not state: any context length loads
    model = Denoiser(cfg).to(device)
    if init_state is not None and not ckpt_path.exists():
        model.load_state_dict(init_state)
        print(f"initialised from {a.init_from}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(a.seed)
    step, log_rows, elapsed0 = 0, [], 0.0
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        step, log_rows, elapsed0 = ck["step"], ck["log"], ck["elapsed"]
        print(f"resumed from {ckpt_path} at step {step}", flush=True)
    val_windows = eval_windows(val, a.seq_len, 128)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    (a.out / "config.json").write_text(json.dumps({"model": cfg.to_dict(), "train": {k: str(v) for k, v in vars(a).items()}}, indent=2))
    print(json.dumps({"params": model.num_params(), "device": str(device), "train_tokens": len(train), "val_tokens": len(val)}), flush=True)

    t0, tokens_seen, stopped_early = time.time(), 0, False
    model.train()
    while step < a.steps:
        if a.max_minutes and (elapsed0 + time.time() - t0) / 60 > a.max_minutes:
            stopped_early = True
            break
        x = sample_windows(train, a.batch, a.seq_len, gen)
        inp, attn, masked, t, anneal = make_batch(x, step, a, gen, meta["mask_id"], meta["pad_id"])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        with autocast:
            logits = model(inp.to(device), attn.to(device))
        loss = diffusion_loss(logits, x.to(device), masked.to(device), attn.to(device), t.to(device), anneal)
        if a.confidence_weight:
            loss = loss + a.confidence_weight * confidence_loss(logits, x.to(device), masked.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += int(attn.sum())
        if step % a.eval_every == 0 or step == a.steps:
            acc = masked_accuracy(model, val_windows, 0.15, meta["mask_id"], device)
            row = {"step": step, "loss": round(loss.item(), 4), "val_acc_0.15": round(acc, 4), "lr": lr_at(step - 1, a),
                   "minutes": round((elapsed0 + time.time() - t0) / 60, 2)}
            log_rows.append(row)
            print(json.dumps(row), flush=True)
        if step % a.ckpt_every == 0 and step < a.steps:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "step": step,
                        "log": log_rows, "elapsed": elapsed0 + time.time() - t0}, ckpt_path)
    minutes = (elapsed0 + time.time() - t0) / 60
    shards = save_weights(model, a.out)
    summary = {"steps": step, "minutes": round(minutes, 2), "device": str(device),
               "device_name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
               "params": model.num_params(), "shards": shards, "planned_steps": a.steps, "stopped_early": stopped_early,
               "tokens_seen_this_run": tokens_seen, "log": log_rows}
    (a.out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "log"}), flush=True)


if __name__ == "__main__":
    main()
