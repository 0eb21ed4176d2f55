"""WeightWatcher's per-layer norm metrics, under its names and conventions.

WeightWatcher 0.7.7 (``weightwatcher.py``, ``apply_norm_metrics``, lines 4568-4607) takes
the eigenvalues of Wᵀ W *unnormalised* (the squared singular values of W,
``combined_eigenvalues``, lines 2784-2857) and computes::

    norm              = sum(evals)                     # = ||W||_F^2 (line 4579)
    log_norm          = log10(norm)                    # line 4580
    spectral_norm     = max(evals)                     # = ||W||_2^2 = sigma_max^2 (4582)
    log_spectral_norm = log10(spectral_norm)           # line 4583
    alpha_weighted    = alpha * log_spectral_norm      # line 4587
    log_alpha_norm    = log10(sum(evals ** alpha))     # line 4588
    stable_rank       = norm / spectral_norm           # line 4590

(``norm`` is the *squared* Frobenius norm and ``spectral_norm`` the *squared* spectral
norm: WeightWatcher's names, kept as they are.)  ``alpha`` is its power-law exponent,
which :func:`htmp.fitting.fit_powerlaw` reproduces.

Relation to htmp's ESD: for W of shape (a, b) htmp's eigenvalues are those of the smaller
Gram matrix divided by ``M = max(a, b)`` (W Wᵀ / M), so WeightWatcher's are htmp's times
M.  The letters differ too: htmp's N is the smaller dimension (gamma = N / M <= 1), while
WeightWatcher's N is the larger one and its M the smaller (its Q = N / M = 1 / gamma).
Scale-free quantities (alpha, stable_rank) are the same either way; log_norm,
log_spectral_norm, alpha_weighted and log_alpha_norm move by log10(M) (times alpha).

Conv kernels: WeightWatcher takes the kh*kw slices ``W[:, :, i, j]`` and multiplies them by
sqrt(kh*kw / 2) (``conv2d_norm``, line 2891); htmp's ESD with ``conv="flatten"`` is a
different matrix, so these metrics agree with WeightWatcher's on dense layers only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._results import FitResult, as_eigenvalues

__all__ = ["WW_METRICS", "WWMetrics", "ww_metrics"]

WW_METRICS = ("norm", "log_norm", "spectral_norm", "log_spectral_norm", "stable_rank",
              "alpha_weighted", "log_alpha_norm")


@dataclass(frozen=True)
class WWMetrics(FitResult):
    """Result of :func:`ww_metrics` (WeightWatcher's column names; see the module docstring).

    ``alpha`` is the exponent the alpha-dependent metrics were computed with (NaN when no
    power-law fit was given: ``alpha_weighted`` and ``log_alpha_norm`` are then NaN too).
    ``M``: the factor htmp's eigenvalues were multiplied by (max(shape)).
    """

    norm: float
    log_norm: float
    spectral_norm: float
    log_spectral_norm: float
    stable_rank: float
    alpha_weighted: float
    log_alpha_norm: float
    alpha: float
    M: float


def _log10_power_sum(x: np.ndarray, alpha: float) -> float:
    """log10(sum (x / max x)**alpha) for x >= 0 with max(x) > 0: the sum with the largest x
    factored out (WeightWatcher's direct sum overflows to inf for, e.g., x = 1e10, alpha 40)."""
    with np.errstate(divide="ignore"):      # 0 ** alpha for alpha < 0: inf, as WeightWatcher
        return math.log10(float(np.sum((x / x[-1]) ** alpha)))


def ww_metrics(eigs, *, alpha: float = math.nan, M=None) -> WWMetrics:
    """WeightWatcher's norm metrics from htmp's eigenvalues (an :class:`ESDResult` or array).

    ``M``: max(shape) of the weight matrix, the factor that turns htmp's eigenvalues
    (W Wᵀ / M) into WeightWatcher's (those of Wᵀ W); taken from an ESD result when not
    given, and required for a bare array (pass ``M=1`` for eigenvalues that are already
    unnormalised).  ``alpha``: the power-law exponent (``fit_powerlaw(...).alpha``).

    >>> import numpy as np
    >>> from htmp.fitting import esd
    >>> W = np.diag([3.0, 4.0, 0.0])
    >>> m = ww_metrics(esd(W), alpha=2.0)
    >>> m.norm, m.spectral_norm, m.stable_rank        # ||W||_F^2, ||W||_2^2, their ratio
    (25.0, 16.0, 1.5625)
    """
    if M is None:
        M = getattr(eigs, "M", None)
        if M is None:
            raise ValueError("M must be given (max(shape) of the weight matrix, the factor "
                             "from htmp's W Wᵀ/M to WeightWatcher's Wᵀ W) for a bare "
                             "array of eigenvalues, got None")
    M = float(M)
    if not (math.isfinite(M) and M > 0):
        raise ValueError(f"M must be a finite number > 0 (max(shape)), got {M!r}")
    alpha = float(alpha)
    x = as_eigenvalues(eigs)
    if not x[-1] > 0:
        raise ValueError("eigs must have a positive eigenvalue (a zero matrix has no "
                         "spectral norm), got all zeros")
    # in units of the largest eigenvalue: the logs and stable_rank stay finite where
    # M * eigenvalues overflows (norm and spectral_norm are then inf)
    top, s = float(x[-1]), float(np.sum(x / x[-1]))
    log_spectral = math.log10(top) + math.log10(M)
    if math.isnan(alpha):
        aw = lan = math.nan
    else:
        aw, lan = alpha * log_spectral, alpha * log_spectral + _log10_power_sum(x, alpha)
    return WWMetrics(norm=top * M * s, log_norm=log_spectral + math.log10(s),
                     spectral_norm=top * M, log_spectral_norm=log_spectral, stable_rank=s,
                     alpha_weighted=aw, log_alpha_norm=lan, alpha=alpha, M=M)
