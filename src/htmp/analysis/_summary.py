"""Model-level summary of :func:`htmp.analyze`'s per-layer table."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..fitting import FitResult

__all__ = ["ModelSummary", "summarize"]


@dataclass(frozen=True)
class ModelSummary(FitResult):
    """Counts per status and phase; mean/median of kappa and alpha over layers with a value.

    kappa statistics use measured values only (``htmp_status`` "ok" or "max-iter", finite
    kappa): a kappa at a search end is a bound, never averaged.  ``n_mp_like`` layers have
    kappa = inf (the likelihood is flat towards MP), ``n_kappa_below`` hit the lower end of
    the search (no point value); ``n_poor_fit`` layers have ``fit_quality`` "poor".

    WeightWatcher-like averages (``WeightWatcher.get_summary()``, weightwatcher.py 0.7.7
    lines 3686-3702: the mean of each column over the layers): ``log_norm_mean``,
    ``alpha_weighted_mean``, ``log_alpha_norm_mean``, ``log_spectral_norm_mean``,
    ``stable_rank_mean`` over the layers with a value (``alpha_mean`` is the fourth);
    :meth:`ww_summary` gives them under WeightWatcher's keys.  WeightWatcher averages its
    alpha = -1 of a failed fit in; htmp leaves such a layer out (its alpha is NaN).
    """

    n_layers: int
    n_ok: int
    n_partial: int
    n_failed: int
    n_skipped: int
    kappa_mean: float
    kappa_median: float
    n_kappa: int
    n_mp_like: int
    n_kappa_below: int
    n_poor_fit: int
    alpha_mean: float
    alpha_median: float
    n_alpha: int
    phase_counts: dict = field(default_factory=dict)
    log_norm_mean: float = math.nan
    alpha_weighted_mean: float = math.nan
    log_alpha_norm_mean: float = math.nan
    log_spectral_norm_mean: float = math.nan
    stable_rank_mean: float = math.nan

    def ww_summary(self) -> dict:
        """The averages under ``WeightWatcher.get_summary()``'s keys (and in its order)."""
        return {"log_norm": self.log_norm_mean, "alpha": self.alpha_mean,
                "alpha_weighted": self.alpha_weighted_mean,
                "log_alpha_norm": self.log_alpha_norm_mean,
                "log_spectral_norm": self.log_spectral_norm_mean,
                "stable_rank": self.stable_rank_mean}

    def to_frame(self):
        import pandas as pd

        d = self.to_dict()
        counts = d.pop("phase_counts")
        d.update({f"phase_{k}": v for k, v in counts.items()})
        return pd.DataFrame([d])


def _stats(col) -> tuple[float, float, int]:
    v = np.asarray(col, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, 0
    return float(v.mean()), float(np.median(v)), int(v.size)


def summarize(df) -> ModelSummary:
    """Summarise the DataFrame returned by :func:`htmp.analyze`."""
    missing = {"status", "kappa", "htmp_status", "fit_quality", "alpha", "phase"} - set(df.columns)
    if missing:
        raise ValueError(f"df must be the table returned by htmp.analyze (columns status, "
                         f"kappa, htmp_status, fit_quality, alpha, phase), missing "
                         f"{sorted(missing)}")
    status = df["status"].value_counts()
    hs = df["htmp_status"].astype(str)
    measured = hs.isin(["ok", "max-iter"]).to_numpy()
    k_mean, k_med, n_k = _stats(df["kappa"].to_numpy(float)[measured])
    a_mean, a_med, n_a = _stats(df["alpha"])
    phases = df["phase"][df["phase"].astype(str) != ""].value_counts()
    ww = {f"{c}_mean": _stats(df[c])[0] if c in df.columns else math.nan
          for c in ("log_norm", "alpha_weighted", "log_alpha_norm", "log_spectral_norm",
                    "stable_rank")}
    return ModelSummary(n_layers=len(df), n_ok=int(status.get("ok", 0)),
                        n_partial=int(status.get("partial", 0)),
                        n_failed=int(status.get("failed", 0)),
                        n_skipped=int(status.get("skipped", 0)),
                        kappa_mean=k_mean, kappa_median=k_med, n_kappa=n_k,
                        n_mp_like=int((hs == "mp-like").sum()),
                        n_kappa_below=int((hs == "at-lower-bound").sum()),
                        n_poor_fit=int((df["fit_quality"].astype(str) == "poor").sum()),
                        alpha_mean=a_mean, alpha_median=a_med, n_alpha=n_a,
                        phase_counts={str(k): int(v) for k, v in phases.items()}, **ww)
