"""Test helper: write safetensors files (and sharded folders) from float32 numpy arrays, storing
them as BF16 / F16 / F32. bf16 is rounded to nearest even, as torch does."""
import json
import os

import numpy as np


def to_bf16_bits(a: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def encode(a: np.ndarray, dtype: str) -> bytes:
    if dtype == "BF16":
        return to_bf16_bits(a).astype("<u2").tobytes()
    if dtype == "F16":
        with np.errstate(over="ignore"):  # out-of-range values become inf, as in torch
            return np.asarray(a, dtype="<f2").tobytes()
    return np.asarray(a, dtype="<f4").tobytes()


def write_file(path: str, tensors: dict, dtype: str = "BF16", dtypes: dict | None = None) -> None:
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        dt = (dtypes or {}).get(name, dtype)
        blob = encode(a, dt)
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for b in blobs:
            f.write(b)


def write_sharded(folder: str, tensors: dict, shards: int = 2, dtype: str = "BF16") -> dict:
    """Round-robin the tensors over `shards` files plus model.safetensors.index.json."""
    os.makedirs(folder, exist_ok=True)
    names = list(tensors)
    files = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    weight_map = {n: files[i % shards] for i, n in enumerate(names)}
    for f in files:
        write_file(os.path.join(folder, f), {n: tensors[n] for n in names if weight_map[n] == f}, dtype)
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f)
    return weight_map
