"""The one PyTorch adapter: every ``import torch`` of the package lives in this module.

torch is imported only when a torch source is given (an ``nn.Module``, a tensor
mapping, or a ``.pt``/``.pth``/``.bin`` file); ``import htmp.nn`` never imports it.
A module gives the rows of its state dict, in the model's order; kinds are recognised
with ``isinstance`` on ``nn.Embedding``, ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d``
(subclasses included, e.g. the ``out_proj`` of ``nn.MultiheadAttention``) and
``nn.MultiheadAttention`` (its ``in_proj_weight``), and structurally for GPT-2's
``Conv1D``.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import partial

import numpy as np

from ._spec import WeightSpec, refused, show, weight_status

__all__ = ["import_torch", "is_module", "is_tensor", "module_specs", "state_dict_file_specs",
           "tensor_to_numpy", "tensor_mapping_specs"]

INSTALL_HINT = "PyTorch is needed for this source: pip install 'htmp[torch]'"


def import_torch():
    """Import torch or raise an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from err
    return torch


def _loaded_torch():
    """torch if the caller already imported it (an object can only be a tensor then)."""
    return sys.modules.get("torch")


def is_module(obj) -> bool:
    torch = _loaded_torch()
    return torch is not None and isinstance(obj, torch.nn.Module)


def is_tensor(obj) -> bool:
    torch = _loaded_torch()
    return torch is not None and isinstance(obj, torch.Tensor)


def tensor_to_numpy(t) -> np.ndarray:
    """A CPU numpy copy-or-view: bf16/fp16 -> float32, float32/float64 kept."""
    torch = import_torch()
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.to(torch.float32)
    return t.cpu().numpy()


def _dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def _layer_kind(mod, attr: str, nn) -> str | None:
    """The kind of parameter ``attr`` of module ``mod``, or None (a plain tensor)."""
    if attr == "weight":
        for cls, kind in ((nn.Embedding, "embedding"), (nn.Linear, "linear"),
                          (nn.Conv1d, "conv1d"), (nn.Conv2d, "conv2d")):
            if isinstance(mod, cls):
                return kind
        if _is_gpt2_conv1d(mod):
            return "linear_t"
    if isinstance(mod, nn.MultiheadAttention) and attr in _MHA_WEIGHTS:
        return "linear"
    return None


# nn.MultiheadAttention's input projections: the packed (3E, E) in_proj_weight, or the
# separate q/k/v_proj_weight when kdim/vdim differ from embed_dim (used as F.linear weights)
_MHA_WEIGHTS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")


def _is_gpt2_conv1d(mod) -> bool:
    """Hugging Face's GPT-2 ``Conv1D``: a dense layer whose weight is stored (in, out).

    Recognised by its structure (class name ``Conv1D``, an int ``nf`` = out features and a
    2-D weight whose second dimension is ``nf``), not ``isinstance``: htmp never imports
    ``transformers``."""
    w, nf = getattr(mod, "_parameters", {}).get("weight"), getattr(mod, "nf", None)
    return (type(mod).__name__ == "Conv1D" and isinstance(nf, int) and w is not None
            and w.ndim == 2 and w.shape[1] == nf)


def module_specs(model) -> list[WeightSpec]:
    """Every weight of an ``nn.Module`` under its state-dict name, in state-dict order (each
    module's own parameters and buffers, then its children: the model's order).

    Kinds: ``Embedding``/``Linear``/``Conv1d``/``Conv2d`` weights by ``isinstance``,
    ``nn.MultiheadAttention``'s ``in_proj_weight`` (3E x E) and ``q/k/v_proj_weight`` as
    "linear", GPT-2 ``Conv1D`` weights (stored in x out) as "linear_t"; any other 2-D/4-D
    float parameter as "tensor" - the rows of ``module.state_dict()``, with kinds.  A 2-D/4-D
    float buffer (not trained) is listed with ``skip``."""
    torch = import_torch()
    modules = dict(model.named_modules(remove_duplicate=False))
    out = []
    for name, v in model.state_dict(keep_vars=True).items():
        if not isinstance(v, torch.Tensor):
            continue
        owner, _, attr = name.rpartition(".")
        mod = modules.get(owner)
        kind = (_layer_kind(mod, attr, torch.nn) if mod is not None else None) or "tensor"
        shape, dtype = tuple(int(s) for s in v.shape), _dtype_name(v)
        spec = _spec(name, kind, shape, dtype, partial(tensor_to_numpy, v), type(model).__name__)
        if spec is not None and not spec.skip and not isinstance(v, torch.nn.Parameter):
            owner_type = type(mod).__name__ if mod is not None else "the model"
            spec = refused(name, kind, shape, dtype, spec.source,
                           skip=f"a buffer of {owner_type}, not a trained parameter (in a "
                                f"state dict, which cannot tell, it is analysed)")
        if spec is not None:
            out.append(spec)
    return out


def _spec(name, kind, shape, dtype, load, source) -> WeightSpec | None:
    status = weight_status(shape, dtype, kind)
    if status is None:
        return None
    if status:      # int8 / float8 / complex / quantised: a "skipped" row says why
        return refused(name, kind, shape, dtype, source, skip=status)
    return WeightSpec(name, kind, shape, dtype, load, source)


def _flatten(d: Mapping, prefix: str = "", parents: tuple = ()):
    """(dotted name, value) of a nested mapping; a mapping inside itself is refused."""
    if id(d) in parents:
        raise ValueError(f"state dict: the mapping at {show(prefix.rstrip('.'))} contains "
                         f"itself (a cycle); expected nested names -> tensors")
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from _flatten(v, key + ".", parents + (id(d),))
        else:
            yield key, v


def tensor_mapping_specs(d: Mapping, source: str = "state_dict") -> list[WeightSpec]:
    """Specs of the 2-D/4-D float tensors (torch or numpy) of a (nested) state dict; other
    weight-shaped tensors (int8, float8, complex, ...) are listed with ``skip``.  Flattened
    names may collide (``{"a.b": A, "a": {"b": B}}``): :func:`htmp.nn.weight_specs` makes
    them unique."""
    out = []
    for name, v in _flatten(d):
        if is_tensor(v):
            shape, dtype, load = tuple(v.shape), _dtype_name(v), partial(tensor_to_numpy, v)
        elif isinstance(v, np.ndarray):
            shape, dtype, load = v.shape, str(v.dtype), partial(np.asarray, v)
        else:
            continue
        spec = _spec(name, "tensor", tuple(int(s) for s in shape), dtype, load, source)
        if spec is not None:
            out.append(spec)
    return out


def state_dict_file_specs(path) -> list[WeightSpec]:
    """A ``.pt``/``.pth``/``.bin`` state dict, read with ``weights_only=True`` (memory-mapped
    when the file is in torch's zip format, so tensors are paged in one at a time)."""
    torch = import_torch()
    try:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:     # legacy (non-zip) format cannot be memory-mapped
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:     # torch raises many types (UnpicklingError, RuntimeError, ...)
        raise ValueError(f"{path}: cannot be read as a PyTorch state dict with "
                         f"weights_only=True ({type(err).__name__}: {err})") from None
    if is_module(obj):
        return module_specs(obj)
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path}: expected a state dict (a mapping of names to tensors), "
                         f"got {type(obj).__name__}")
    return tensor_mapping_specs(obj, str(path))
