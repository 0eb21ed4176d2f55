"""Frozen result dataclasses shared by the fitting module, and input checks for spectra."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["FitResult", "as_eigenvalues", "ks_statistic", "ks_critical", "fit_quality",
           "degenerate_note", "DEGENERATE_SPREAD"]

DEGENERATE_SPREAD = 1e-4   # eigenvalues equal to this relative spread are one point mass


class FitResult:
    """Mixin for frozen result dataclasses: ``to_dict()`` and ``to_frame()``.

    ``to_dict`` returns plain Python values (arrays become lists); ``to_frame``
    returns a one-row :class:`pandas.DataFrame` of the scalar fields (pandas is
    imported lazily, it is not a dependency of the numeric core).
    """

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, np.generic):
                v = v.item()
            elif isinstance(v, tuple):
                v = [x.item() if isinstance(x, np.generic) else x for x in v]
            out[f.name] = v
        return out

    def to_frame(self):
        import pandas as pd

        row = {k: v for k, v in self.to_dict().items()
               if not isinstance(v, (list, dict)) or k == "interval"}
        if "interval" in row:
            lo, hi = row.pop("interval")
            row["interval_low"], row["interval_high"] = lo, hi
        return pd.DataFrame([row])


def readonly_array(a) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.flags.writeable = False
    return a


def as_eigenvalues(eigs, name: str = "eigs", min_size: int = 1) -> np.ndarray:
    """Validate a spectrum: 1-D, real, finite, >= 0 (tiny negatives from rounding are clipped).

    An :class:`~htmp.fitting.esd.ESDResult` is accepted and its eigenvalues are used.
    Returns a sorted float64 copy.  A result with a ``tol`` attribute (an ESD, an NTK
    spectrum: the rounding level of its eigenvalues) widens the clipping to that level.
    """
    own_tol = getattr(eigs, "tol", None)
    eigs = getattr(eigs, "eigenvalues", eigs)
    arr = np.asarray(eigs)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real eigenvalues, got a complex array")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of eigenvalues, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} eigenvalue(s), got {arr.size}")
    x = np.sort(arr.astype(float))
    if not np.all(np.isfinite(x)):
        bad = x[~np.isfinite(x)][:3].tolist()
        raise ValueError(f"{name} must be finite, got non-finite entries {bad}")
    top = max(abs(x[-1]), abs(x[0]))
    tol = 1e3 * np.finfo(float).eps * max(top, np.finfo(float).tiny) * max(len(x), 1)
    if own_tol is not None and math.isfinite(float(own_tol)):
        tol = max(tol, float(own_tol))
    if x[0] < -tol:
        raise ValueError(f"{name} must be >= 0 (eigenvalues of a Gram matrix), "
                         f"got minimum {float(x[0])!r}")
    return np.clip(x, 0.0, None)


def ks_statistic(x_sorted: np.ndarray, cdf_values: np.ndarray) -> float:
    """KS distance D = max_i max(i/n - F(x_(i)), F(x_(i)) - (i-1)/n) (MATH.md section 4)."""
    n = len(x_sorted)
    if n == 0:
        return math.nan
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - cdf_values), np.max(cdf_values - (i - 1) / n)))


def ks_critical(n: int) -> float:
    """95 % critical value of the one-sample Kolmogorov statistic at sample size n
    (Stephens 1970: 1.358 / (sqrt n + 0.12 + 0.11/sqrt n), within 1 % of the exact value
    for n >= 5)."""
    r = math.sqrt(n)
    return 1.358 / (r + 0.12 + 0.11 / r)


def fit_quality(ks: float, n: int) -> str:
    """"good" when the KS distance of n points is within its 95 % critical value, "poor"
    above it, "" when there is no KS distance."""
    if not math.isfinite(ks):
        return ""
    return "good" if ks <= ks_critical(n) else "poor"


def degenerate_note(x: np.ndarray) -> str:
    """Why a fit is not made when the sorted positive values ``x`` are one point mass (all
    equal to a relative spread below DEGENERATE_SPREAD: an orthogonal matrix, a scaled
    identity), else "".  No continuous law describes a point mass: MP's KS distance to it
    is 0.5-0.8 and a power law's exponent is rounding noise (1e15)."""
    if len(x) < 2 or not x[-1] > 0:
        return ""
    spread = float((x[-1] - x[0]) / x[-1])
    if spread >= DEGENERATE_SPREAD:
        return ""
    return (f"degenerate spectrum: the {len(x)} eigenvalues are all equal (relative spread "
            f"{spread:.2g} < {DEGENERATE_SPREAD:g}), a point mass that no law here describes")
