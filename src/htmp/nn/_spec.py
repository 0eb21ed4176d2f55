"""Records shared by the readers: a lazy weight spec and the yielded (name, kind, array)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["KINDS", "Weight", "WeightSpec", "compile_layers", "depth_key", "is_analysable",
           "to_float"]

KINDS = ("linear", "conv1d", "conv2d", "embedding", "tensor")


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
    """

    name: str
    kind: str
    shape: tuple
    dtype: str
    load: Callable[[], np.ndarray]
    source: str = ""


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


def is_analysable(shape, dtype: str, kind: str) -> bool:
    """2-D or 4-D floating tensors (3-D only for a conv1d module), every dimension >= 1."""
    ndim_ok = len(shape) in (2, 4) or (kind == "conv1d" and len(shape) == 3)
    return ndim_ok and all(int(s) >= 1 for s in shape) and str(dtype) in _FLOAT_NAMES


def to_float(arr: np.ndarray) -> np.ndarray:
    """float16 -> float32; float32/float64 unchanged (no copy)."""
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    return arr
