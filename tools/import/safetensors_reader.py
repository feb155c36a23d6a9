"""Streaming reader for Hugging Face safetensors checkpoints (one file or shards with an index).

Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N, N bytes
of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
raw little-endian tensor bytes; offsets are relative to the first byte after the header.

Only headers are parsed up front; `read(name)` seeks to ONE tensor, reads exactly its bytes and
returns it as float32, so peak memory is one tensor as float32 plus a 64 MiB read chunk (LLaDA-8B's
embedding: 2.1 GB). No third-party safetensors package is used:
the format is small and stable, and Debian 12 packages none.

Every problem raises CheckpointError naming the file and, where there is one, the tensor.
"""
import json
import os
from dataclasses import dataclass

import numpy as np

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
# Header sizes above this are a corrupt length field, not a real header (real ones are < 1 MB).
MAX_HEADER_BYTES = 100 * 1024 * 1024

# dtypes a weight may be stored in, with their byte width. Integer/fp8 weights are quantized
# checkpoints this importer does not dequantize.
FLOAT_DTYPES = {"BF16": 2, "F16": 2, "F32": 4}
# Bytes read and converted at a time: bounds the staging memory above the float32 result.
CHUNK_BYTES = 64 * 1024 * 1024


class CheckpointError(Exception):
    """A checkpoint folder that cannot be imported; the message says what and where."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    file: str  # absolute path of the shard
    dtype: str  # safetensors dtype string, e.g. "BF16"
    shape: tuple[int, ...]
    begin: int  # absolute byte offset in the file
    end: int


def read_header(path: str) -> dict[str, TensorInfo]:
    """Parse one safetensors file's header; validates every entry against the file's size."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            raw_len = f.read(8)
            if len(raw_len) < 8:
                raise CheckpointError(f"{path}: corrupt safetensors header: file is {size} bytes, shorter than the 8-byte header length")
            n = int.from_bytes(raw_len, "little")
            if n <= 0 or n > MAX_HEADER_BYTES or 8 + n > size:
                raise CheckpointError(
                    f"{path}: corrupt safetensors header: header length field says {n} bytes, file is {size} bytes"
                )
            raw = f.read(n)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read: {err.strerror or err}") from err
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: corrupt safetensors header: not JSON ({err})") from err
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header: expected a JSON object")
    data_start = 8 + n
    out: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = entry["dtype"]
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(o) for o in entry["data_offsets"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: corrupt safetensors header: entry {name!r} lacks dtype/shape/data_offsets") from err
        if dtype not in FLOAT_DTYPES:
            raise CheckpointError(
                f"{path}: tensor {name!r} has dtype {dtype}; supported weight dtypes are {', '.join(FLOAT_DTYPES)}"
                " (quantized checkpoints are not supported: import the bf16/fp16/fp32 original)"
            )
        want = int(np.prod(shape, dtype=np.int64)) * FLOAT_DTYPES[dtype]
        if end - begin != want or begin < 0:
            raise CheckpointError(
                f"{path}: corrupt safetensors header: tensor {name!r} {dtype}{list(shape)} needs {want} bytes,"
                f" data_offsets give {end - begin}"
            )
        if data_start + end > size:
            raise CheckpointError(
                f"{path}: truncated: tensor {name!r} ends at byte {data_start + end}, file is {size} bytes"
            )
        out[name] = TensorInfo(name, path, dtype, shape, data_start + begin, data_start + end)
    return out


def to_float32(raw: np.ndarray, dtype: str) -> np.ndarray:
    """Little-endian stored bytes (uint8) -> float32, without an intermediate float64."""
    if dtype == "F32":
        return raw.view("<f4").astype(np.float32, copy=False)
    if dtype == "F16":
        return raw.view("<f2").astype(np.float32)
    # bfloat16 is the top half of a float32: widen to uint32 and shift into place.
    wide = raw.view("<u2").astype(np.uint32)
    wide <<= 16
    return wide.view(np.float32)


class SafetensorsCheckpoint:
    """All tensors of a checkpoint folder: `model.safetensors.index.json` + its shards, or one
    `model.safetensors`. Headers are read eagerly (so a missing shard or a tensor missing from its
    shard fails before any work), data lazily."""

    def __init__(self, folder: str):
        self.folder = folder
        self.tensors: dict[str, TensorInfo] = {}
        index_path = os.path.join(folder, INDEX_FILE)
        single = os.path.join(folder, SINGLE_FILE)
        if os.path.exists(index_path):
            self._open_index(index_path)
        elif os.path.exists(single):
            self.tensors = read_header(single)
        else:
            raise CheckpointError(
                f"{folder}: no weights: expected {INDEX_FILE} (sharded) or {SINGLE_FILE}"
                " (.bin/.pt PyTorch pickles are not supported: convert them to safetensors)"
            )

    def _open_index(self, index_path: str) -> None:
        try:
            with open(index_path, encoding="utf-8") as f:
                index = json.load(f)
            weight_map = index["weight_map"]
            if not isinstance(weight_map, dict):
                raise TypeError("weight_map is not an object")
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
            raise CheckpointError(f"{index_path}: unreadable index ({err})") from err
        headers: dict[str, dict[str, TensorInfo]] = {}
        for shard in sorted(set(weight_map.values())):
            path = os.path.join(self.folder, shard)
            if not os.path.exists(path):
                named = sorted(n for n, s in weight_map.items() if s == shard)
                raise CheckpointError(
                    f"{index_path}: shard {shard!r} is named by the index ({len(named)} tensors, e.g. {named[0]!r})"
                    f" but {path} does not exist"
                )
            headers[shard] = read_header(path)
        for name, shard in weight_map.items():
            info = headers[shard].get(name)
            if info is None:
                raise CheckpointError(
                    f"{os.path.join(self.folder, shard)}: tensor {name!r} is missing (the index {INDEX_FILE} places it in this shard)"
                )
            self.tensors[name] = info
        # Tensors present in a shard but not in the index are not part of the checkpoint as
        # transformers loads it; say so rather than silently dropping them.
        for shard, header in headers.items():
            extra = sorted(set(header) - set(n for n, s in weight_map.items() if s == shard))
            if extra:
                raise CheckpointError(
                    f"{os.path.join(self.folder, shard)}: holds tensors the index does not list: {', '.join(extra[:5])}"
                    + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
                )

    def names(self) -> list[str]:
        return list(self.tensors)

    def info(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise KeyError(f"{self.folder}: checkpoint has no tensor {name!r}") from None

    def read(self, name: str) -> np.ndarray:
        """One tensor as float32 in its stored shape; reads only its bytes, in chunks converted
        straight into the float32 result (peak: the result plus one chunk)."""
        t = self.info(name)
        width = FLOAT_DTYPES[t.dtype]
        count = (t.end - t.begin) // width
        out = np.empty(count, dtype=np.float32)
        per_chunk = max(1, CHUNK_BYTES // width)
        staging = np.empty(min(count, per_chunk) * width, dtype=np.uint8)
        with open(t.file, "rb") as f:
            f.seek(t.begin)
            for start in range(0, count, per_chunk):
                n = min(per_chunk, count - start)
                buf = staging[: n * width]
                got = f.readinto(memoryview(buf))
                if got != n * width:
                    raise CheckpointError(f"{t.file}: truncated while reading {name!r}")
                out[start:start + n] = to_float32(buf, t.dtype)
        return out.reshape(t.shape)
