"""How a table row's kappa and verdict are written (CLI table, report cards and plots).

A kappa at an end of the search is a bound, never printed as a value: "MP-like (≥ 73)"
when the likelihood is flat towards Marchenko-Pastur, "≤ 0.08" below the search range,
"" without a fit.  :func:`weak_reasons` lists why a verdict should be read with care.
"""
from __future__ import annotations

import math

from ..fitting import compare, phases

__all__ = ["kappa_text", "num", "weak_reasons"]


def num(v) -> float:
    """A table cell as float (NaN for NA, text or None)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _g(v: float) -> str:
    return f"{v:.3g}"


def kappa_text(row, *, interval: bool = True) -> str:
    """kappa as text: "2.31 (1.9–2.8)", "MP-like (≥ 73)", "≤ 0.08", or ""."""
    st = str(row["htmp_status"])
    k, lo, hi = num(row["kappa"]), num(row["kappa_lo"]), num(row["kappa_hi"])
    if st == "mp-like":
        return f"MP-like (≥ {_g(lo)})" if math.isfinite(lo) else "MP-like"
    if st == "at-lower-bound":
        return f"≤ {_g(hi)}" if math.isfinite(hi) else "below range"
    if not math.isfinite(k):
        return ""
    if not interval or not math.isfinite(lo):
        return _g(k)
    return f"{_g(k)} ({_g(lo)}–{'∞' if hi == math.inf else _g(hi)})"


def weak_reasons(row) -> list:
    """Why the row's verdict is weak (empty when it is not): a poor fit, too few
    eigenvalues for kappa, a kappa interval across the heavy-tailed boundary, or a
    likelihood ratio close to the margin.  "unresolved" claims no phase and
    "rank-collapse" rests on the trace or the zeros, not on a fit: never weak."""
    label = str(row["phase"])
    if label in ("", "rank-collapse", "unresolved"):      # no fit behind it / no claim made
        return []
    out = []
    if str(row["fit_quality"]) == "poor":
        out.append("the preferred law fits poorly (KS above its critical value)")
    if str(row["htmp_status"]) == "too-few":
        out.append(f"only {row['n_evals']} eigenvalues: no κ fit")
    lo, hi = num(row["kappa_lo"]), num(row["kappa_hi"])
    if label in ("heavy-tailed", "bulk-decay") and lo < phases.KAPPA_HEAVY <= hi:
        out.append(f"the κ interval contains {phases.KAPPA_HEAVY:g} (heavy-tailed vs bulk-decay)")
    llr = num(row["loglik_ratio"])
    if label in ("heavy-tailed", "bulk-decay") and llr < 2 * compare.LLR_MIN:
        out.append(f"log-likelihood ratio {llr:.3g} is close to the margin {compare.LLR_MIN:g}")
    return out
