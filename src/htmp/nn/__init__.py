"""Read the analysable weights of a model: torch modules, checkpoints and numpy files.

* :func:`iter_weights` yields ``(name, kind, array)`` one weight at a time.
* :func:`weight_specs` lists them without reading any data (``spec.load()`` reads one).

Sources: a torch ``nn.Module`` (every weight of its state dict in the model's order;
kinds from ``isinstance`` on its modules, see ``_torch``), a mapping name -> tensor/array
(a state dict), a numpy array, or a path: ``.safetensors`` file, ``.pt``/``.pth``/``.bin``
state dict, ``.npy``, ``.npz``, a sharded Hugging Face checkpoint (its ``*.index.json``,
read in the index's order), a PEFT LoRA adapter (one row per adapted module, for
scale * B A) or a folder holding one of those; with ``base=``, fine-tune deltas
W - W_base (or W_base + dW for an adapter).  Arrays are float32 (from bf16/fp16/float32) or float64.

Files are read defensively (docs/security.md): pickles are refused, a shard outside its
index's folder is refused, every header field is checked before data is read, and a
weight over ``max_elements`` values (default :data:`MAX_ELEMENTS`) is never read.

torch is imported only for torch sources (module ``htmp.nn._torch`` is the one adapter);
safetensors and numpy files are read without it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

import numpy as np

from . import _torch
from ._delta import delta_specs
from ._files import FORMATS, path_specs
from ._limits import (
    DEFAULT,
    ENV_MAX_ELEMENTS,
    MAX_ELEMENTS,
    apply_element_limit,
    resolve_max_elements,
)
from ._lora import find_adapter, lora_specs
from ._spec import (
    KINDS,
    Weight,
    WeightSpec,
    compile_layers,
    depth_key,
    refused,
    to_float,
    unique_names,
    weight_status,
)

import_torch = _torch.import_torch     # torch or an ImportError saying how to install it

__all__ = [
    "import_torch",
    "ENV_MAX_ELEMENTS",
    "FORMATS",
    "KINDS",
    "MAX_ELEMENTS",
    "Weight",
    "WeightSpec",
    "depth_key",
    "iter_weights",
    "portable_spec",
    "weight_specs",
]


def _array_specs(source: np.ndarray) -> list[WeightSpec]:
    shape, dtype = tuple(int(s) for s in source.shape), str(source.dtype)
    status = weight_status(shape, dtype, "tensor")
    if status is None:
        return []
    if status:
        return [refused("W", "tensor", shape, dtype, "array", skip=status)]
    return [WeightSpec("W", "tensor", shape, dtype, lambda: to_float(source), "array")]


def _specs(source) -> list[WeightSpec]:
    if isinstance(source, (str, os.PathLike)):
        return path_specs(source)
    if _torch.is_module(source):
        return _torch.module_specs(source)
    if isinstance(source, Mapping):
        return _torch.tensor_mapping_specs(source)
    if isinstance(source, np.ndarray):
        return _array_specs(source)
    raise TypeError(f"source must be a torch nn.Module, a state dict (mapping), a numpy array "
                    f"or a path ({FORMATS}), got {type(source).__name__}")


def _with_base(source, base) -> list[WeightSpec]:
    """A LoRA adapter over ``base``: W + dW per adapted module; any other source: W - W_base
    for every name both have (other names listed with ``skip``)."""
    base_specs = unique_names(_specs(base))
    adapter = find_adapter(source) if isinstance(source, (str, os.PathLike)) else None
    if adapter is not None:
        return lora_specs(adapter, base=base_specs)
    return delta_specs(unique_names(_specs(source)), base_specs)


def weight_specs(source, *, layers=None, max_elements=DEFAULT, base=None) -> list[WeightSpec]:
    """Every weight of ``source`` whose name matches the regex ``layers`` (``re.search``),
    without reading tensor data.

    ``base``: a base model (any source): each spec's ``load()`` returns W - W_base for the
    names both have (docs/analysis.md, "Adapters and fine-tune deltas"); when ``source`` is a
    LoRA adapter, W_base + dW per adapted module instead.

    Names are unique (a second weight with a taken name becomes ``name#2``).  Weights that
    will not be read are listed too, with a reason: ``spec.skip`` (an unsupported dtype
    such as int8/float8/complex, or more than ``max_elements`` values) or ``spec.error``
    (a malformed header entry, a corrupt ``.npz`` member); their ``load()`` raises.
    ``max_elements``: a positive int or None (no limit); by default the environment
    variable ``HTMP_MAX_ELEMENTS`` if set, else :data:`MAX_ELEMENTS` (2**27).
    A file that cannot be read at all raises ``ValueError`` naming it.
    """
    limit = resolve_max_elements(max_elements)
    pattern = compile_layers(layers)
    specs = _specs(source) if base is None else _with_base(source, base)
    specs = apply_element_limit(unique_names(specs), limit)
    return [s for s in specs if pattern is None or pattern.search(s.name)]


def iter_weights(source, *, layers=None, max_elements=DEFAULT) -> Iterator[Weight]:
    """Yield :class:`Weight` ``(name, kind, array)`` for each analysable weight, reading one
    tensor at a time (arrays from a torch module may share memory with its parameters).

    Skipped weights (``spec.skip``: dtype, ``max_elements``) are passed over; one that
    cannot be read (``spec.error``) raises ``ValueError`` when its turn comes."""
    for spec in weight_specs(source, layers=layers, max_elements=max_elements):
        if not spec.skip:
            yield Weight(spec.name, spec.kind, spec.load())


def portable_spec(spec: WeightSpec) -> WeightSpec | None:
    """``spec`` made safe to send to another process or machine: its reader bound to an
    absolute path when it reads the weight from a file by path and header numbers
    (safetensors, ``.npy``, ``.npz``), the spec itself when it is never read (skipped or
    failed), None when the weight is held in this process (a torch module, a state dict, an
    array, a ``.pt``/``.bin`` checkpoint, an adapter's product)."""
    from dataclasses import replace
    from functools import partial

    from ._npy import _load_npy, _load_npz_member
    from ._safetensors import _load_raw
    from ._spec import _refuse

    load = spec.load
    if not isinstance(load, partial):
        return None
    if load.func is _refuse:
        return spec
    if load.func not in (_load_raw, _load_npy, _load_npz_member):
        return None
    path, *rest = load.args
    return replace(spec, load=partial(load.func, os.path.abspath(path), *rest))
