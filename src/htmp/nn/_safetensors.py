"""Torch-free safetensors reader, one tensor at a time.

The header (8-byte little-endian length + JSON, the documented format) gives every
tensor's dtype, shape and byte range, so a file is listed without reading any data and
each tensor is read from its byte range with ``np.fromfile`` into a fresh array.  This
holds one copy of one tensor at a time: ``safetensors.safe_open(framework="numpy")``
held two (the mapped file pages plus its copy; 80 MB vs 40 MB for a 40 MB tensor in
``benchmarks/bench_reader_memory.py``), checks the whole file on open (one truncated
tensor failed every layer) and cannot return bf16.  bf16 is widened exactly to
float32 (a bf16 value is the top 16 bits of a float32); fp16 becomes float32.
"""
from __future__ import annotations

import json
import os
import struct
from functools import partial

import numpy as np

from ._spec import WeightSpec, depth_key, is_analysable

__all__ = ["read_header", "safetensors_specs"]

_MAX_HEADER = 100 * 1024 * 1024
_DTYPES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}
_NUMPY = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}


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


def _load_raw(path, dtype: str, begin: int, end: int, shape) -> np.ndarray:
    """Read one tensor's byte range; bf16 is widened exactly to float32 (its top 16 bits)."""
    np_dtype = "<u2" if dtype == "BF16" else _NUMPY[dtype]
    itemsize = np.dtype(np_dtype).itemsize
    count = int(np.prod(shape))
    if end - begin != count * itemsize:
        raise ValueError(f"{path}: byte range {end - begin} of the tensor does not match "
                         f"shape {tuple(shape)} x {itemsize} bytes")
    with open(path, "rb") as f:
        raw = np.fromfile(f, dtype=np_dtype, count=count, offset=begin)
    if raw.size != count:
        raise ValueError(f"{path}: truncated tensor data ({raw.size} of {count} values)")
    if dtype == "BF16":
        out = raw.astype(np.uint32)
        out <<= 16
        raw = out.view(np.float32)
    elif dtype == "F16":
        raw = raw.astype(np.float32)
    return raw.reshape(shape)


def safetensors_specs(path, names=None) -> list[WeightSpec]:
    """Specs of the analysable tensors of one file, in depth order (:func:`depth_key`; the
    header itself is alphabetical), or in ``names`` order."""
    header, data_start = read_header(path)
    if names is None:
        names = sorted(header, key=depth_key)
    out = []
    for name in names:
        info = header.get(name)
        if not isinstance(info, dict) or "dtype" not in info:
            raise ValueError(f"{path}: tensor {name!r} is listed in the index but missing "
                             f"from the file header")
        dtype = _DTYPES.get(info["dtype"], info["dtype"])
        shape = tuple(int(s) for s in info.get("shape", ()))
        if not is_analysable(shape, dtype, "tensor"):
            continue
        begin, end = (data_start + int(o) for o in info["data_offsets"])
        load = partial(_load_raw, path, info["dtype"], begin, end, shape)
        out.append(WeightSpec(name, "tensor", shape, dtype, load, str(path)))
    return out
