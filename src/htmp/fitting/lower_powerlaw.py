"""Lower power-law tail fit: ``P(X <= eps) ~ eps^exponent`` as eps -> 0 (the paper's (5.2a)).

Clauset, Shalizi & Newman's (2009) method mirrored to the lower tail.  For a cut ``xmax`` the
model is ``P(X <= x | X <= xmax) = (x / xmax)^a`` on (0, xmax] (``log(xmax / X)`` is exponential
with rate a).  Every sample value is tried as the cut, from the ``min_tail``-th smallest to the
largest; for each

* the cut is the k-th smallest value x_(k); given it, the k - 1 values below are iid from the
  model, so the maximum-likelihood exponent is ``a_k = (k - 1) / sum_{i<k} log(x_(k) / x_(i))``;
* ``D_k`` is the two-sided KS distance between those k - 1 values and the fitted model
  (MATH.md §4's formula, as :func:`htmp.fitting.ks_statistic`);

and the cut with the smallest ``D_k`` wins (the largest tail on exact ties).  The standard error
is the asymptotic ``a / sqrt(k - 1)``.  With ``xmax`` given there is no search: all k values
<= xmax are the sample and ``a = k / sum log(xmax / x_i)``.

The full scan is O(n^2) work in blocks of candidates (O(block n) memory), about 3 s for 10^4
values on one core; by default at most 2000 cuts, evenly spaced by rank, are tried.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_positive_int
from ._results import FitResult, degenerate_note

__all__ = ["LowerPowerLawFit", "fit_lower_powerlaw", "MIN_SAMPLES"]

MIN_SAMPLES = 50


@dataclass(frozen=True)
class LowerPowerLawFit(FitResult):
    """Result of :func:`fit_lower_powerlaw`: ``P(X <= x) ~ (x / xmax)^exponent`` for ``x <= xmax``.

    ``status`` is "ok", "at-bound" (the KS search chose the smallest tail it was allowed,
    ``min_tail``: the exponent is that of the smallest tail, the search did not settle) or
    "failed" (no exponent; ``message`` says why).
    """

    exponent: float          # a in P(X <= eps) ~ eps^a; the density is ~ x^(a - 1)
    exponent_se: float       # a / sqrt(number of values fitted)
    xmin: float              # smallest value
    xmax: float              # the cut
    ks: float                # two-sided KS distance on the fitted values
    n_tail: int              # values <= xmax (the cut included)
    n_used: int              # values in the sample
    loglik: float            # of the fitted values under the model (density in units of x)
    status: str = "ok"
    message: str = ""


def _check_sample(x, name: str = "x") -> np.ndarray:
    arr = np.asarray(x)
    if np.iscomplexobj(arr) or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size < MIN_SAMPLES:
        raise ValueError(f"{name} must hold at least {MIN_SAMPLES} values, got {arr.size}")
    arr = np.sort(arr.astype(float))
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][:3].tolist()
        raise ValueError(f"{name} must be finite, got non-finite entries {bad}")
    if arr[0] <= 0:
        raise ValueError(f"{name} must be > 0 (accepted: (0, inf)), got minimum {float(arr[0])!r}")
    return arr


def _scan(y: np.ndarray, ks: np.ndarray, block: int):
    """Exponent and KS distance for every candidate cut index (0-based) k in ``ks``."""
    csum = np.concatenate([[0.0], np.cumsum(y)])
    m = ks.astype(float)                                 # values strictly below the cut
    s = m * y[ks] - csum[ks]                             # sum_{i<k} (y_k - y_i)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(s > 0, m / s, np.nan)
    D = np.full(len(ks), np.inf)
    for start in range(0, len(ks), block):
        sl = slice(start, start + block)
        kb, ab = ks[sl], a[sl]
        width = int(kb.max())
        i = np.arange(width)
        mask = i[None, :] < kb[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            F = np.exp(ab[:, None] * (y[None, :width] - y[kb][:, None]))
        mb = kb[:, None].astype(float)
        dev = np.maximum((i[None, :] + 1) / mb - F, F - i[None, :] / mb)
        Db = np.where(mask, dev, -np.inf).max(axis=1)
        D[sl] = np.where(np.isfinite(ab), Db, np.inf)
    return a, D


def _failed(x: np.ndarray, msg: str) -> LowerPowerLawFit:
    nan = math.nan
    return LowerPowerLawFit(nan, nan, float(x[0]), nan, nan, 0, len(x), nan, "failed", msg)


def _fixed_cut(x: np.ndarray, y: np.ndarray, xmax: float) -> LowerPowerLawFit:
    k = int(np.searchsorted(x, xmax, side="right"))
    s = float(k * math.log(xmax) - np.sum(y[:k]))
    if k < 2 or not s > 0:
        return _failed(x, f"need at least 2 values below xmax={xmax:g}, got {k}")
    a = k / s
    F = np.exp(a * (y[:k] - math.log(xmax)))
    i = np.arange(1, k + 1)
    D = float(max(np.max(i / k - F), np.max(F - (i - 1) / k)))
    ll = k * math.log(a) - a * s - float(np.sum(y[:k]))
    return LowerPowerLawFit(a, a / math.sqrt(k), float(x[0]), float(xmax), D, k, len(x), ll)


def fit_lower_powerlaw(x, *, xmax: float | None = None, min_tail: int = 10,
                       max_candidates: int | None = 2000, block: int = 256) -> LowerPowerLawFit:
    """Fit the lower power law ``P(X <= eps) ~ eps^exponent`` of a positive sample.

    Parameters
    ----------
    x : array_like
        1-D sample of at least 50 finite values > 0 (e.g. gradient norms).
    xmax : float, optional
        A fixed cut; by default it is chosen by KS (Clauset's method mirrored, module docstring).
    min_tail : int
        Smallest number of values at or below a candidate cut (>= 3).
    max_candidates : int or None
        With more candidate cuts than this, an evenly spaced subset of them (by rank, always
        including the smallest and the largest) is scanned: O(max_candidates n) work instead of
        O(n^2).  ``None`` scans every value.
    block : int
        Candidates per vectorised block (memory O(block n)).

    Returns
    -------
    LowerPowerLawFit
        ``exponent`` a (P(X <= eps) ~ eps^a; density exponent a - 1), its standard error, the cut
        ``xmax``, the KS distance ``ks`` and ``n_tail``; a failed fit has NaN values and says why.

    Raises
    ------
    ValueError
        Fewer than 50 values, non-finite or non-positive values, a bad ``xmax``/``min_tail``.
    """
    x = _check_sample(x)
    min_tail = check_positive_int("min_tail", min_tail, 3)
    block = check_positive_int("block", block)
    if degenerate_note(x):
        return _failed(x, degenerate_note(x).replace("eigenvalues", "values"))
    unit = math.frexp(float(x[-1]))[1]              # work in units of 2^unit: exact, scale-free
    xs = np.ldexp(x, -unit)
    y = np.log(xs)
    if xmax is not None:
        if not (isinstance(xmax, (int, float, np.floating, np.integer)) and math.isfinite(xmax)
                and xmax > 0):
            raise ValueError(f"xmax must be a finite number > 0 (accepted: (0, inf)), got {xmax!r}")
        fit = _fixed_cut(xs, y, math.ldexp(float(xmax), -unit))
        return _rescale(fit, unit, fit.n_tail)
    n = len(xs)
    last_of_ties = np.flatnonzero(np.r_[xs[1:] > xs[:-1], True])   # cut includes all its ties
    ks = last_of_ties[last_of_ties >= min_tail - 1]
    if max_candidates is not None:
        max_candidates = check_positive_int("max_candidates", max_candidates, 2)
        if ks.size > max_candidates:
            ks = ks[np.unique(np.round(np.linspace(0, ks.size - 1, max_candidates)).astype(int))]
    if ks.size == 0:
        return _rescale(_failed(xs, f"no candidate cut has {min_tail} values at or below it"), unit, 0)
    a, D = _scan(y, ks, block)
    if not np.any(np.isfinite(D)):
        return _rescale(_failed(xs, "no candidate cut gives a positive log-spread"), unit, 0)
    j = len(D) - 1 - int(np.argmin(D[::-1]))         # smallest D, largest tail on ties
    k, ak = int(ks[j]), float(a[j])
    s = float(k * y[k] - np.sum(y[:k]))
    ll = k * math.log(ak) - ak * s - float(np.sum(y[:k]))
    status, msg = "ok", ""
    if k == ks[0] and len(ks) > 1:
        status, msg = "at-bound", (f"the KS search chose the smallest tail allowed "
                                   f"(min_tail={min_tail}); the exponent is not settled")
    fit = LowerPowerLawFit(ak, ak / math.sqrt(k), float(xs[0]), float(xs[k]), float(D[j]), k + 1,
                           n, ll, status, msg)
    return _rescale(fit, unit, k)


def _rescale(fit: LowerPowerLawFit, unit: int, fitted: int) -> LowerPowerLawFit:
    """Back to the caller's units: x = 2^unit x' (the density gains 2^-unit per fitted value)."""
    ll = fit.loglik - fitted * unit * math.log(2.0) if math.isfinite(fit.loglik) else fit.loglik
    return LowerPowerLawFit(fit.exponent, fit.exponent_se, math.ldexp(fit.xmin, unit),
                            math.ldexp(fit.xmax, unit) if math.isfinite(fit.xmax) else fit.xmax,
                            fit.ks, fit.n_tail, fit.n_used, ll, fit.status, fit.message)
