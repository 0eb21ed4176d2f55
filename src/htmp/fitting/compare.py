"""MP versus HTMP on one spectrum: likelihood ratio and KS distances."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..laws import MarchenkoPastur
from ._results import FitResult, ks_statistic
from .htmp_fit import HTMPFit, fit_htmp
from .mp_fit import MPFit, fit_mp

__all__ = ["Comparison", "compare_mp_htmp"]


@dataclass(frozen=True)
class Comparison(FitResult):
    """MP vs HTMP on the same eigenvalues (the HTMP fit's bulk, spikes set aside).

    ``loglik_ratio = loglik_htmp - loglik_mp``; it is +inf when a bulk eigenvalue
    lies outside the compact MP support (``n_outside_mp`` counts them).  The
    eigenvalues are correlated, so the ratio has no chi-square calibration; the
    decision uses ``preferred = "mp"`` when the HTMP fit is MP-like (kappa at its cap)
    or ``kappa >= kappa_mp`` or MP's KS distance is not larger than HTMP's.
    """

    preferred: str
    kappa: float
    sigma2: float
    loglik_htmp: float
    loglik_mp: float
    loglik_ratio: float
    ks_htmp: float
    ks_mp: float
    n_outside_mp: int
    n_used: int
    status: str = "ok"
    message: str = ""


def compare_mp_htmp(eigs, *, gamma=None, N=None, M=None, kappa_mp: float = 200.0,
                    mp: MPFit | None = None, htmp: HTMPFit | None = None) -> Comparison:
    """Fit both laws (or reuse fits passed as ``mp=``/``htmp=``) and compare them."""
    mp = mp if mp is not None else fit_mp(eigs, gamma=gamma, N=N, M=M)
    htmp = htmp if htmp is not None else fit_htmp(eigs, gamma=gamma)
    nan = math.nan
    if mp.status == "failed" or htmp.status == "failed":
        return Comparison("undecided", htmp.kappa, mp.sigma2, htmp.loglik, nan, nan, htmp.ks,
                          nan, 0, htmp.n_used, "failed",
                          f"mp: {mp.message or mp.status}; htmp: {htmp.message or htmp.status}")
    from ._spectrum import resolve

    x = resolve(eigs, gamma, N, M).positive
    spikes = set(htmp.spikes)
    y = np.array([v for v in x if v not in spikes]) if spikes else x
    law = MarchenkoPastur(gamma=mp.gamma, scale=mp.sigma2)
    lo, hi = law.support()
    outside = int(np.sum((y < lo) | (y > hi)))
    with np.errstate(divide="ignore"):
        ll_mp = float(np.sum(law.logpdf(y)))
    ks_mp = ks_statistic(y, law.cdf(y))
    ks_h = ks_statistic(y, htmp.law.cdf(y))
    mp_wins = htmp.status == "mp-like" or htmp.kappa >= kappa_mp or ks_mp <= ks_h
    return Comparison(preferred="mp" if mp_wins else "htmp", kappa=htmp.kappa,
                      sigma2=mp.sigma2, loglik_htmp=htmp.loglik, loglik_mp=ll_mp,
                      loglik_ratio=htmp.loglik - ll_mp, ks_htmp=ks_h, ks_mp=ks_mp,
                      n_outside_mp=outside, n_used=int(len(y)))
