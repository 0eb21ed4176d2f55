"""Torch-free safetensors reader, one tensor at a time.

The header (8-byte little-endian length + JSON) gives every tensor's dtype, shape and
byte range, so a file can be listed without reading any data.  A tensor is read with
``safetensors.safe_open(path, framework="numpy")``; bf16 (which numpy cannot
represent, so the numpy framework refuses it) is read as raw bytes from its byte
range and widened exactly to float32 (a bf16 value is the top 16 bits of a float32).
Peak memory is therefore about one tensor (measured in ``benchmarks/bench_reader_memory.py``).
"""
from __future__ import annotations

import json
import os
import struct
from functools import partial

import numpy as np

from ._spec import WeightSpec, is_analysable

__all__ = ["read_header", "safetensors_specs"]

_MAX_HEADER = 100 * 1024 * 1024
_DTYPES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}


def read_header(path) -> tuple[dict, int]:
    """(header dict without ``__metadata__``, byte offset where the data starts)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", raw)
        if n > min(_MAX_HEADER, size - 8):
            raise ValueError(f"{path}: not a safetensors file (header length {n} "
                             f"does not fit the file size {size})")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not a safetensors file (bad JSON header: {err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors file (header is not a JSON object)")
    header.pop("__metadata__", None)
    return header, 8 + n


def _load_bf16(path, start: int, count: int, shape) -> np.ndarray:
    with open(path, "rb") as f:
        raw = np.fromfile(f, dtype="<u2", count=count, offset=start)
    if raw.size != count:
        raise ValueError(f"{path}: truncated tensor data ({raw.size} of {count} values)")
    out = raw.astype(np.uint32)
    out <<= 16
    return out.view(np.float32).reshape(shape)


def _load_tensor(path, name: str) -> np.ndarray:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        arr = f.get_tensor(name)
    return arr.astype(np.float32) if arr.dtype == np.float16 else arr


def safetensors_specs(path, names=None) -> list[WeightSpec]:
    """Specs of the analysable tensors of one file, in header order (or in ``names`` order)."""
    header, data_start = read_header(path)
    out = []
    for name in (header if names is None else names):
        info = header.get(name)
        if not isinstance(info, dict) or "dtype" not in info:
            raise ValueError(f"{path}: tensor {name!r} is listed in the index but missing "
                             f"from the file header")
        dtype = _DTYPES.get(info["dtype"], info["dtype"])
        shape = tuple(int(s) for s in info.get("shape", ()))
        if not is_analysable(shape, dtype, "tensor"):
            continue
        if info["dtype"] == "BF16":
            begin, _ = info["data_offsets"]
            load = partial(_load_bf16, path, data_start + int(begin), int(np.prod(shape)), shape)
        else:
            load = partial(_load_tensor, path, name)
        out.append(WeightSpec(name, "tensor", shape, dtype, load, str(path)))
    return out
