"""The bound on what a reader materialises: at most ``max_elements`` values per tensor.

A weight's element count comes from its file header (safetensors, ``.npy``, each ``.npz``
member) before any data is read, so a header that declares a huge tensor - a 1 MB
``.npz`` of zeros declaring 250 million values, or a dimension of 1e20 - costs nothing:
the weight gets a "skipped" row and its data is never read.

``MAX_ELEMENTS = 2**27`` (134 217 728 values: 512 MiB as float32, the largest single
allocation a reader makes for one weight, 1 GiB for float64).  It admits every matrix of
7B-class models (Llama-2-7B's 32000 x 4096 embedding is 131 million values) and the
attention/MLP matrices of 13B-class ones; larger weights (big-vocabulary embeddings,
70B-class MLPs) need it raised: ``max_elements=`` of :func:`htmp.nn.weight_specs` /
:func:`htmp.nn.iter_weights`, or the environment variable ``HTMP_MAX_ELEMENTS`` (an
integer, or ``none`` for no limit), which ``htmp.analyze`` and ``htmp analyze`` read.
"""
from __future__ import annotations

import math
import os

from ._spec import WeightSpec, count, refused

__all__ = ["ENV_MAX_ELEMENTS", "MAX_ELEMENTS", "apply_element_limit", "resolve_max_elements"]

MAX_ELEMENTS = 2**27
ENV_MAX_ELEMENTS = "HTMP_MAX_ELEMENTS"
DEFAULT = object()      # max_elements not given: the environment variable, else MAX_ELEMENTS


def _check(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where} must be a positive integer or None (no limit), "
                         f"got {value!r}")
    return value


def resolve_max_elements(value=DEFAULT) -> int | None:
    """``max_elements=`` as given, else ``$HTMP_MAX_ELEMENTS``, else :data:`MAX_ELEMENTS`."""
    if value is not DEFAULT:
        return _check(value, "max_elements")
    text = os.environ.get(ENV_MAX_ELEMENTS, "").strip()
    if not text:
        return MAX_ELEMENTS
    if text.lower() == "none":
        return None
    try:
        number = int(text.replace("_", ""))
    except ValueError:
        number = text
    return _check(number, f"environment variable {ENV_MAX_ELEMENTS}")


def apply_element_limit(specs: list[WeightSpec], max_elements: int | None) -> list[WeightSpec]:
    """Specs with more than ``max_elements`` values become "skipped" (never read).
    Element counts are Python integers, so a product of huge dimensions cannot wrap."""
    if max_elements is None:
        return specs
    out = []
    for s in specs:
        n = math.prod(int(d) for d in s.shape)
        if not (s.skip or s.error) and n > max_elements:
            why = (f"{count(n)} elements > max_elements={max_elements} (never read; raise the "
                   f"limit with max_elements= or the environment variable {ENV_MAX_ELEMENTS})")
            s = refused(s.name, s.kind, s.shape, s.dtype, s.source, skip=why)
        out.append(s)
    return out
