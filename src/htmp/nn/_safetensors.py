"""Torch-free safetensors reader, one tensor at a time, that trusts no header field.

The header (8-byte little-endian length + JSON, the documented format) gives every
tensor's dtype, shape and byte range, so a file is listed without reading any data and
each tensor is read from its byte range with ``np.fromfile`` into a fresh array.  This
holds one copy of one tensor at a time: ``safetensors.safe_open(framework="numpy")``
held two (the mapped file pages plus its copy; 80 MB vs 40 MB for a 40 MB tensor in
``benchmarks/bench_reader_memory.py``), checks the whole file on open (one truncated
tensor failed every layer) and cannot return bf16.  bf16 is widened exactly to
float32 (a bf16 value is the top 16 bits of a float32); fp16 becomes float32.

Checks (docs/security.md): the whole file is refused (``ValueError`` naming it) when the
header cannot be found or parsed (length, JSON, nesting, not an object) or when two
tensors' byte ranges overlap.  A malformed entry fails alone: its spec carries ``error``
naming file, tensor and field, and the other tensors are still read.  An entry whose
``dtype`` or ``shape`` is missing or ill-typed is always listed so (what it is cannot be
told); a bad ``data_offsets`` (not two integers ``0 <= begin <= end``, a length other
than ``prod(shape) * itemsize``, past the end of the data) only when the tensor is a
weight (a 1-D bias with bad offsets is not analysed anyway).
"""
from __future__ import annotations

import json
import math
import os
import struct
from functools import partial

import numpy as np

from ._spec import WeightSpec, clip, count, depth_key, refused, show, weight_status

__all__ = ["read_header", "safetensors_specs"]

_MAX_HEADER = 100 * 1024 * 1024
# safetensors dtype -> (name shown, bytes per value; None where unknown or sub-byte)
_DTYPES = {"F16": ("float16", 2), "BF16": ("bfloat16", 2), "F32": ("float32", 4),
           "F64": ("float64", 8), "BOOL": ("bool", 1), "U8": ("uint8", 1), "I8": ("int8", 1),
           "F8_E4M3": ("float8_e4m3", 1), "F8_E5M2": ("float8_e5m2", 1), "I16": ("int16", 2),
           "U16": ("uint16", 2), "I32": ("int32", 4), "U32": ("uint32", 4),
           "I64": ("int64", 8), "U64": ("uint64", 8), "C64": ("complex64", 8)}
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
        text = f.read(n)
    try:
        header = json.loads(text)
    except RecursionError:
        raise ValueError(f"{path}: not a safetensors file (JSON header nested too "
                         f"deeply)") from None
    except ValueError as err:     # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise ValueError(f"{path}: not a safetensors file (bad JSON header: "
                         f"{clip(str(err))})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors file (header is not a JSON object)")
    header.pop("__metadata__", None)
    return header, 8 + n


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_entry(info, data_size: int) -> tuple[str, tuple, tuple | None, str]:
    """(dtype code, shape, (begin, end) or None, problem) of one header entry.

    ValueError naming the field when dtype or shape is malformed (what the tensor is
    cannot be told); a bad byte range is returned as ``problem`` (the tensor fails alone,
    and only if it is a weight)."""
    if not isinstance(info, dict):
        raise ValueError(f"header entry must be a JSON object with dtype, shape and "
                         f"data_offsets, got {type(info).__name__}")
    code, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(code, str):
        raise ValueError(f"dtype must be a string such as 'F32', got {show(code)}")
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
        raise ValueError(f"shape must be a list of non-negative integers, got {show(shape)}")
    shape = tuple(shape)
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_int, offsets))
            and 0 <= offsets[0] <= offsets[1]):
        return code, shape, None, (f"data_offsets must be [begin, end] with 0 <= begin <= "
                                   f"end <= {data_size} (the data size), got {show(offsets)}")
    begin, end = offsets
    itemsize = _DTYPES.get(code, ("", None))[1]
    n = math.prod(shape)                             # Python ints: a product cannot wrap
    if itemsize and end - begin != n * itemsize:
        return code, shape, (begin, end), (f"data_offsets span {end - begin} bytes but shape "
                                           f"{show(shape)} of {code} needs {count(n * itemsize)}")
    if end > data_size:
        held = max(0, data_size - begin) // itemsize if itemsize else 0
        return code, shape, (begin, end), (f"truncated tensor data ({held} of {n} values):"
                                           f" data_offsets end at {end}, the data at "
                                           f"{data_size}")
    return code, shape, (begin, end), ""


def _check_overlaps(path, parsed: dict) -> None:
    spans = sorted((r[0], r[1], name) for name, (_, _, r, _) in parsed.items()
                   if r is not None and r[1] > r[0])
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError(f"{path}: not a valid safetensors file (tensors {show(n0)} "
                             f"[{b0}, {e0}) and {show(n1)} [{b1}, {e1}) overlap)")


def _load_raw(path, dtype: str, begin: int, end: int, shape) -> np.ndarray:
    """Read one tensor's byte range; bf16 is widened exactly to float32 (its top 16 bits)."""
    np_dtype = "<u2" if dtype == "BF16" else _NUMPY[dtype]
    itemsize = np.dtype(np_dtype).itemsize
    count = math.prod(shape)
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
    header itself is alphabetical), or in ``names`` order; weight-shaped tensors that
    cannot be analysed (dtype) or read (malformed entry) are listed with ``skip``/``error``."""
    header, data_start = read_header(path)
    data_size = os.path.getsize(path) - data_start
    parsed, problems = {}, {}
    for name, info in header.items():
        try:
            parsed[name] = _parse_entry(info, data_size)
        except ValueError as err:
            problems[name] = f"{path}: tensor {show(name)}: {err}"
    _check_overlaps(path, parsed)
    if names is None:
        names = sorted(header, key=depth_key)
    out = []
    for name in names:
        if name not in parsed:
            why = problems.get(name, f"{path}: tensor {show(name)} is listed in the index "
                                     f"but missing from the file header")
            out.append(refused(name, "tensor", (), "", str(path), error=why))
            continue
        code, shape, span, problem = parsed[name]
        dtype = _DTYPES.get(code, (code, None))[0]
        status = weight_status(shape, dtype, "tensor")
        if status is None:
            continue
        if status or problem:
            why = f"{path}: tensor {show(name)}: {problem}" if problem else ""
            out.append(refused(name, "tensor", shape, dtype, str(path), skip=status, error=why))
            continue
        load = partial(_load_raw, path, code, data_start + span[0], data_start + span[1],
                       shape)
        out.append(WeightSpec(name, "tensor", shape, dtype, load, str(path)))
    return out
