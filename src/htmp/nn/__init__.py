"""Read the analysable weights of a model: torch modules, checkpoints and numpy files.

* :func:`iter_weights` yields ``(name, kind, array)`` one weight at a time.
* :func:`weight_specs` lists them without reading any data (``spec.load()`` reads one).

Sources: a torch ``nn.Module`` (Linear, Conv1d, Conv2d, Embedding recognised with
``isinstance``), a mapping name -> tensor/array (a state dict), a numpy array, or a
path: ``.safetensors`` file, ``.pt``/``.pth``/``.bin`` state dict, ``.npy``, ``.npz``,
a sharded Hugging Face checkpoint (its ``*.index.json``, read in the index's order) or
a folder holding one of those.  Arrays are float32 (from bf16/fp16/float32) or float64.

torch is imported only for torch sources (module ``htmp.nn._torch`` is the one adapter);
safetensors and numpy files are read without it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

import numpy as np

from . import _torch
from ._files import FORMATS, path_specs
from ._spec import KINDS, Weight, WeightSpec, compile_layers, depth_key, is_analysable, to_float

__all__ = ["iter_weights", "weight_specs", "depth_key", "Weight", "WeightSpec", "KINDS",
           "FORMATS"]


def _specs(source) -> list[WeightSpec]:
    if isinstance(source, (str, os.PathLike)):
        return path_specs(source)
    if _torch.is_module(source):
        return _torch.module_specs(source)
    if isinstance(source, Mapping):
        return _torch.tensor_mapping_specs(source)
    if isinstance(source, np.ndarray):
        shape, dtype = tuple(source.shape), str(source.dtype)
        if not is_analysable(shape, dtype, "tensor"):
            return []
        return [WeightSpec("W", "tensor", shape, dtype, lambda: to_float(source), "array")]
    raise TypeError(f"source must be a torch nn.Module, a state dict (mapping), a numpy array "
                    f"or a path ({FORMATS}), got {type(source).__name__}")


def weight_specs(source, *, layers=None) -> list[WeightSpec]:
    """Every analysable weight of ``source`` whose name matches the regex ``layers``
    (``re.search``), without reading tensor data."""
    pattern = compile_layers(layers)
    specs = _specs(source)
    return [s for s in specs if pattern is None or pattern.search(s.name)]


def iter_weights(source, *, layers=None) -> Iterator[Weight]:
    """Yield :class:`Weight` ``(name, kind, array)`` for each analysable weight, reading one
    tensor at a time (arrays from a torch module may share memory with its parameters)."""
    for spec in weight_specs(source, layers=layers):
        yield Weight(spec.name, spec.kind, spec.load())
