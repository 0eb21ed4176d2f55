"""Rank correlations with bootstrap intervals, for experiments/model_quality.py.

* :func:`correlate` - Spearman's rho and Kendall's tau-b of one metric against one target
  over models, with percentile bootstrap intervals (models resampled with replacement,
  ``np.random.default_rng(seed)``), scipy's p-values and the R^2 / RMSE of the least-squares
  line (the poster's numbers).  ``groups=``: Kendall's tau-b over pairs *within* a group
  only (a stratified tau: pairs of models from different families never count) and a
  bootstrap that resamples within each group.
* :func:`spearman_rows` / :func:`kendall_rows` - the same statistics for many resamples at
  once (rows); tested against ``scipy.stats.spearmanr`` / ``kendalltau``.

Everything is computed on ranks (average ranks for ties), so a metric may hold +-inf
(e.g. a median kappa that is "MP-like"): only its order matters.  NaN marks a model
without a value and drops it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

__all__ = ["Correlation", "correlate", "spearman_rows", "kendall_rows"]


def _check_rows(x, y):
    x, y = np.atleast_2d(np.asarray(x, float)), np.atleast_2d(np.asarray(y, float))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    return x, y


def spearman_rows(x, y) -> np.ndarray:
    """Spearman's rho of each row pair (average ranks for ties; NaN for a constant row)."""
    x, y = _check_rows(x, y)
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx -= rx.mean(1, keepdims=True)
    ry -= ry.mean(1, keepdims=True)
    den = np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(1) / np.where(den > 0, den, 1), np.nan)


def kendall_rows(x, y, groups=None, *, block: int = 256) -> np.ndarray:
    """Kendall's tau-b of each row pair: S / sqrt(T_x T_y) with S the sum over pairs i < j
    of sign(x_i - x_j) sign(y_i - y_j) and T_x, T_y the pairs not tied in x, in y.

    ``groups`` (one label per column, the same for every row): only pairs with equal labels
    count.  NaN where T_x or T_y is 0.  Rows are processed ``block`` at a time.
    """
    x, y = _check_rows(x, y)
    b, n = x.shape
    rx, ry = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)   # inf-safe differences
    upper = np.triu(np.ones((n, n), bool), 1)
    if groups is not None:
        g = np.asarray(groups)
        if g.shape != (n,):
            raise ValueError(f"groups must hold one label per model ({n}), got shape {g.shape}")
        upper &= g[:, None] == g[None, :]
    out = np.empty(b)
    for s in range(0, b, block):
        sx = np.sign(rx[s:s + block, :, None] - rx[s:s + block, None, :])[:, upper]
        sy = np.sign(ry[s:s + block, :, None] - ry[s:s + block, None, :])[:, upper]
        num = (sx * sy).sum(1)
        den = np.sqrt(np.abs(sx).sum(1) * np.abs(sy).sum(1))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:s + block] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return out


@dataclass(frozen=True)
class Correlation:
    """One metric against one target over ``n`` models (``*_lo``/``*_hi``: the bootstrap
    interval at ``level``; ``n_boot_valid``: resamples where both statistics exist).
    ``r2`` / ``rmse``: least-squares line of the target on the metric (NaN when the
    metric holds an infinite value).  With groups, ``spearman*`` is NaN (the within-group
    statistic is Kendall's, over within-group pairs)."""

    n: int
    spearman: float
    spearman_lo: float
    spearman_hi: float
    spearman_p: float
    kendall: float
    kendall_lo: float
    kendall_hi: float
    kendall_p: float
    r2: float
    rmse: float
    n_boot: int
    n_boot_valid: int
    level: float

    def to_dict(self) -> dict:
        return asdict(self)


def _resample(n: int, groups, n_boot: int, rng) -> np.ndarray:
    if groups is None:
        return rng.integers(0, n, size=(n_boot, n))
    idx = np.empty((n_boot, n), int)
    for label in np.unique(groups):          # sorted labels: reproducible order
        members = np.flatnonzero(groups == label)
        idx[:, members] = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
    return idx


def _line_fit(x, y) -> tuple[float, float]:
    if not np.all(np.isfinite(x)) or np.ptp(x) == 0:
        return math.nan, math.nan
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss = float(((y - y.mean()) ** 2).sum())
    return (1.0 - float((resid ** 2).sum()) / ss if ss > 0 else math.nan,
            float(np.sqrt((resid ** 2).mean())))


def correlate(x, y, *, groups=None, n_boot: int = 2000, seed: int = 0,
              level: float = 0.95) -> Correlation:
    """Rank correlation of metric ``x`` with target ``y`` (one value per model)."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if not (isinstance(level, float) and 0 < level < 1):
        raise ValueError(f"level must be a float in (0, 1), got {level!r}")
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if np.isnan(y).any() or np.isinf(y).any():
        raise ValueError("y (the target) must be finite for every model")
    keep = ~np.isnan(x)
    g = None if groups is None else np.asarray(groups)[keep]
    x, y = x[keep], y[keep]
    n = x.size
    nan = math.nan
    if n < 3:
        return Correlation(n, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, n_boot, 0,
                           level)
    rx = stats.rankdata(x)
    tau = float(kendall_rows(x, y, g)[0])
    if g is None:
        rho = float(spearman_rows(x, y)[0])
        rho_p = float(stats.spearmanr(rx, y).pvalue) if np.isfinite(rho) else nan
        tau_p = float(stats.kendalltau(rx, y).pvalue) if np.isfinite(tau) else nan
        r2, rmse = _line_fit(x, y)
    else:
        rho = rho_p = tau_p = r2 = rmse = nan
    idx = _resample(n, g, n_boot, np.random.default_rng(seed))
    boot_tau = kendall_rows(x[idx], y[idx], g)
    boot_rho = spearman_rows(x[idx], y[idx]) if g is None else np.zeros(n_boot)
    ok = np.isfinite(boot_tau) & np.isfinite(boot_rho)
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    if ok.sum() >= 2:
        tau_lo, tau_hi = np.percentile(boot_tau[ok], q)
        rho_lo, rho_hi = np.percentile(boot_rho[ok], q) if g is None else (nan, nan)
    else:
        tau_lo = tau_hi = rho_lo = rho_hi = nan
    return Correlation(n, rho, float(rho_lo), float(rho_hi), rho_p, tau, float(tau_lo),
                       float(tau_hi), tau_p, r2, rmse, n_boot, int(ok.sum()), level)
