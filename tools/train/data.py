"""Token streams written by encode_corpus.ts: uint16 ids, documents joined by end-of-text."""
import json
from pathlib import Path

import numpy as np
import torch


def load_split(data_dir: Path, split: str) -> torch.Tensor:
    arr = np.fromfile(data_dir / f"{split}.bin", dtype=np.uint16)
    return torch.from_numpy(arr.astype(np.int64))


def load_meta(data_dir: Path) -> dict:
    return json.loads((data_dir / "meta.json").read_text())


def sample_windows(stream: torch.Tensor, batch: int, seq_len: int, gen: torch.Generator) -> torch.Tensor:
    starts = torch.randint(0, len(stream) - seq_len, (batch,), generator=gen)
    return torch.stack([stream[s : s + seq_len] for s in starts.tolist()])  # [B,L]


def eval_windows(stream: torch.Tensor, seq_len: int, max_windows: int) -> torch.Tensor:
    """Non-overlapping windows from the start of the stream: the same every run."""
    n = min(max_windows, len(stream) // seq_len)
    return stream[: n * seq_len].view(n, seq_len)


def fixed_masks(shape: tuple, ratio: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen) < ratio
