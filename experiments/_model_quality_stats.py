"""Rank correlations with bootstrap intervals, for experiments/model_quality.py.

* :func:`correlate` - Spearman's rho and Kendall's tau-b of one metric against one target
  over models, with percentile bootstrap intervals (models resampled with replacement,
  ``np.random.default_rng(seed)``), scipy's p-values and the R^2 / RMSE of the least-squares
  line (the poster's numbers).  ``groups=``: Kendall's tau-b over pairs *within* a group
  only (a stratified tau: pairs of models from different families never count) and a
  bootstrap that resamples within each group.
* :func:`partial_spearman` - Spearman's rho given a confounder (training length): the
  correlation of rank residuals, with the same bootstrap.
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

__all__ = ["Correlation", "correlate", "partial_spearman", "spearman_rows", "kendall_rows"]


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


def _check_boot(n_boot, level) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if not (isinstance(level, float) and 0 < level < 1):
        raise ValueError(f"level must be a float in (0, 1), got {level!r}")


def _resample(n: int, groups, n_boot: int, rng) -> np.ndarray:
    if groups is None:
        return rng.integers(0, n, size=(n_boot, n))
    idx = np.empty((n_boot, n), int)
    for label in np.unique(groups):          # sorted labels: reproducible order
        members = np.flatnonzero(groups == label)
        idx[:, members] = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
    return idx


def _rank_residuals(a: np.ndarray, z: np.ndarray, groups) -> np.ndarray:
    """Rows of ``a`` as ranks, minus their least-squares line on the ranks of ``z``; ranks
    and lines within each group (one intercept and slope per group and row)."""
    out = np.empty_like(a, dtype=float)
    labels = [None] if groups is None else np.unique(groups)
    for label in labels:
        cols = slice(None) if label is None else np.flatnonzero(groups == label)
        ra, rz = stats.rankdata(a[:, cols], axis=1), stats.rankdata(z[:, cols], axis=1)
        ra -= ra.mean(1, keepdims=True)
        rz -= rz.mean(1, keepdims=True)
        szz = (rz * rz).sum(1, keepdims=True)
        slope = np.divide((ra * rz).sum(1, keepdims=True), szz, out=np.zeros_like(szz),
                          where=szz > 0)
        out[:, cols] = ra - slope * rz
    return out


def _partial_rows(x, y, z, groups) -> np.ndarray:
    ex, ey = _rank_residuals(x, z, groups), _rank_residuals(y, z, groups)
    den = np.sqrt((ex * ex).sum(1) * (ey * ey).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12, (ex * ey).sum(1) / np.where(den > 1e-12, den, 1), np.nan)


def partial_spearman(x, y, z, *, groups=None, n_boot: int = 2000, seed: int = 0,
                     level: float = 0.95) -> Correlation:
    """Partial Spearman rho of metric ``x`` and target ``y`` given ``z`` (a confounder):
    the Pearson correlation of the ranks of x and of y after removing from each its
    least-squares line on the ranks of z; with ``groups``, ranks and lines are taken
    within each group.  Bootstrap as :func:`correlate` (same resamples for x, y, z).
    Returned in ``spearman*`` (Kendall fields NaN).  (Kendall's partial tau was not used:
    it stays away from 0 when x and y are independent given z.)"""
    _check_boot(n_boot, level)
    x, y, z = (np.asarray(a, float).ravel() for a in (x, y, z))
    if z.shape != x.shape or y.shape != x.shape or not np.all(np.isfinite(z)):
        raise ValueError(f"z must hold one finite value per model ({x.size}), got "
                         f"{z.size} values, finite: {bool(np.all(np.isfinite(z)))}")
    keep = ~np.isnan(x)
    g = None if groups is None else np.asarray(groups)[keep]
    x, y, z = x[keep], y[keep], z[keep]
    nan = math.nan
    if x.size < 4:
        return Correlation(x.size, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, n_boot,
                           0, level)
    rho = float(_partial_rows(x[None], y[None], z[None], g)[0])
    idx = _resample(x.size, g, n_boot, np.random.default_rng(seed))
    boot = _partial_rows(x[idx], y[idx], z[idx], g)
    ok = np.isfinite(boot)
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    lo, hi = np.percentile(boot[ok], q) if ok.sum() >= 2 else (nan, nan)
    return Correlation(x.size, rho, float(lo), float(hi), nan, nan, nan, nan, nan, nan, nan,
                       n_boot, int(ok.sum()), level)


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
    _check_boot(n_boot, level)
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
