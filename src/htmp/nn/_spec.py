"""Records shared by the readers: a lazy weight spec and the yielded (name, kind, array)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["KINDS", "Weight", "WeightSpec", "clip", "compile_layers", "count", "depth_key",
           "is_analysable", "refused", "show", "to_float", "unique_names", "weight_status"]

# "linear_t": a dense weight stored (in, out) (GPT-2's Conv1D); "lora": a LoRA update
# dW = scale * B A; "lora_merged": W + dW with the base model's W; "tensor": no layer type
KINDS = ("linear", "linear_t", "conv1d", "conv2d", "embedding", "tensor", "lora",
         "lora_merged")


class Weight(NamedTuple):
    """One analysable weight: its key (state-dict name), kind (one of ``KINDS``) and array."""

    name: str
    kind: str
    array: np.ndarray


@dataclass(frozen=True)
class WeightSpec:
    """A weight not yet read: ``load()`` reads it (float32/float64 numpy) when called.

    Specs are cheap (shapes come from file headers), so a whole model can be listed
    before any tensor is read; each ``load()`` holds only that tensor in memory.

    ``skip``: why this weight is listed but deliberately not read (an unsupported dtype
    such as int8 or float8, more elements than ``max_elements``); ``htmp.analyze`` gives
    it a row with status "skipped" and this message.  ``error``: why it cannot be read
    (a malformed header entry, data outside the file, a corrupt ``.npz`` member); its
    row has status "failed".  ``load()`` raises ``ValueError`` with that text for both.
    """

    name: str
    kind: str
    shape: tuple
    dtype: str
    load: Callable[[], np.ndarray]
    source: str = ""
    skip: str = ""
    error: str = ""


def show(value, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (names and values taken from a file)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def count(n: int) -> str:
    """An element or byte count as text; a product of huge header dimensions (which
    ``str`` refuses past 4300 digits) as a power of two."""
    return str(n) if n.bit_length() <= 128 else f"more than 2**{n.bit_length() - 1}"


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters (an error text that may quote a file's bytes)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _refuse(message: str):
    raise ValueError(message)


def refused(name: str, kind: str, shape: tuple, dtype: str, source: str, *, skip: str = "",
            error: str = "") -> WeightSpec:
    """A spec that is listed but never read: ``load()`` raises with its reason."""
    return WeightSpec(name, kind, shape, dtype, partial(_refuse, skip or error), source,
                      skip=skip, error=error)


def compile_layers(layers):
    """``layers=`` (a regex searched in each name, or None) -> a compiled pattern or None."""
    if layers is None:
        return None
    if isinstance(layers, re.Pattern):
        return layers
    if not isinstance(layers, str):
        raise TypeError(f"layers must be a regular expression string or None, got {layers!r}")
    try:
        return re.compile(layers)
    except re.error as err:
        raise ValueError(f"layers must be a valid regular expression, got {layers!r} "
                         f"({err})") from None


def depth_key(name: str) -> list:
    """Sort key that reads digit runs as numbers ("layer.2" before "layer.10").

    safetensors headers and Hugging Face index files list tensors alphabetically, which
    puts encoder.layer.10 before encoder.layer.2; this order follows the depth instead.
    """
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t]


_FLOAT_NAMES = {"float16", "bfloat16", "float32", "float64", "F16", "BF16", "F32", "F64"}
# 2-D/4-D tensors of these dtypes are masks, position ids or index buffers, never weights
_NOT_WEIGHTS = {"bool", "int64", "uint64", "BOOL", "I64", "U64"}
SUPPORTED = "float16, bfloat16, float32 or float64"


def weight_status(shape, dtype: str, kind: str) -> str | None:
    """What a tensor is to the analysis: None (not a weight: wrong rank, an empty
    dimension, a bool/int64 buffer), "" (analysable) or why a weight-shaped tensor is
    skipped (its dtype: int8, uint8, float8, complex, quantised, ...)."""
    ndim_ok = len(shape) in (2, 4) or (kind == "conv1d" and len(shape) == 3)
    if not ndim_ok or not all(int(s) >= 1 for s in shape) or str(dtype) in _NOT_WEIGHTS:
        return None
    if str(dtype) in _FLOAT_NAMES:
        return ""
    return f"dtype {show(str(dtype), 40)} is not supported (htmp reads {SUPPORTED} weights)"


def is_analysable(shape, dtype: str, kind: str) -> bool:
    """2-D or 4-D floating tensors (3-D only for a conv1d module), every dimension >= 1."""
    return weight_status(shape, dtype, kind) == ""


def unique_names(specs: list[WeightSpec]) -> list[WeightSpec]:
    """Rename the second, third, ... spec sharing a name to ``name#2``, ``name#3`` (never a
    name already taken), so each row of a table names one weight.

    Names collide when a nested state dict flattens two keys to one (``{"a.b": A,
    "a": {"b": B}}``), an ``.npz`` holds a member twice, or a folder holds several files
    with the same tensor names.
    """
    taken = {s.name for s in specs}
    seen, out = set(), []
    for s in specs:
        if s.name in seen:
            k = 2
            while f"{s.name}#{k}" in taken:
                k += 1
            s = replace(s, name=f"{s.name}#{k}")
            taken.add(s.name)
        seen.add(s.name)
        out.append(s)
    return out


def to_float(arr: np.ndarray) -> np.ndarray:
    """float16 -> float32; float32/float64 unchanged (no copy)."""
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    return arr
