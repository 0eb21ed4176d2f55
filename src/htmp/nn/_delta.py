"""Fine-tune deltas: specs whose ``load()`` returns ``W - W_base``, one layer at a time.

:func:`delta_specs` pairs a model's specs with a base model's by name.  A name both have,
with the same shape, gives a row for the difference (both weights are read only when the
row is analysed, float64 if either is float64, else float32); a weight equal to the
base's fails with a message saying so (a frozen layer has no delta spectrum).  Every
other name still gets a row, "skipped" with the reason: a shape mismatch (a resized
vocabulary), a name only in the model or only in the base, or a side that is itself
skipped or unreadable.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ._spec import WeightSpec, refused

__all__ = ["delta_specs", "pair_specs"]


def _difference(model: WeightSpec, base: WeightSpec) -> np.ndarray:
    w = model.load()
    d = np.subtract(w, base.load(), dtype=np.result_type(w.dtype, np.float32))
    if not d.any():
        raise ValueError(f"W - W_base is all zero: {model.name!r} equals the base's weight "
                         f"(unchanged by the fine-tune, e.g. frozen); no spectrum to fit")
    return d


def _side_problem(spec: WeightSpec, side: str) -> tuple[str, str]:
    """(skip, error) of a pair whose ``side`` ("model" or "base") is not read."""
    if spec.skip:
        return f"the {side}'s weight is skipped: {spec.skip}", ""
    return "", f"the {side}'s weight cannot be read: {spec.error}"


def pair_specs(specs: list[WeightSpec], base: list[WeightSpec], combine, kind=None,
               what: str = "delta", base_only: bool = True) -> list[WeightSpec]:
    """``combine(spec, base_spec)`` for each spec of ``specs`` with a base weight of the same
    name and shape (row kind ``kind`` or the spec's own); a refused row otherwise, then
    (``base_only``) one per base weight that ``specs`` lack.  ``what`` names the result in
    the reasons."""
    by_name = {b.name: b for b in base}
    out = []
    for s in specs:
        b = by_name.get(s.name)
        k = kind or s.kind
        source = f"{s.source} vs base {b.source}" if b is not None else s.source
        if b is None:
            out.append(refused(s.name, k, s.shape, s.dtype, source,
                               skip=f"no weight named {s.name!r} in the base (no {what})"))
        elif s.skip or s.error:
            out.append(refused(s.name, k, s.shape, s.dtype, source,
                               **dict(zip(("skip", "error"), _side_problem(s, "model")))))
        elif b.skip or b.error:
            out.append(refused(s.name, k, s.shape, s.dtype, source,
                               **dict(zip(("skip", "error"), _side_problem(b, "base")))))
        elif tuple(s.shape) != tuple(b.shape):
            out.append(refused(s.name, k, s.shape, s.dtype, source,
                               skip=f"shape {tuple(s.shape)} differs from the base's "
                                    f"{tuple(b.shape)} (no {what})"))
        else:
            out.append(WeightSpec(s.name, k, tuple(s.shape), s.dtype, partial(combine, s, b),
                                  source))
    if not base_only:
        return out
    names = {s.name for s in specs}
    out += [refused(b.name, kind or b.kind, b.shape, b.dtype, b.source,
                    skip=f"only in the base: no weight named {b.name!r} in the model "
                         f"(no {what})")
            for b in base if b.name not in names]
    return out


def delta_specs(specs: list[WeightSpec], base: list[WeightSpec]) -> list[WeightSpec]:
    """Specs of ``W - W_base`` for every name ``specs`` and ``base`` share (model order),
    refused rows for the rest (base-only names last, in the base's order)."""
    return pair_specs(specs, base, _difference)
