"""Marchenko-Pastur fit: sigma^2, bulk edges with a Tracy-Widom margin, number of spikes.

Method (MATH.md section 9, step 2):

1. start from median matching, ``sigma^2 = median(lambda) / median(MP_gamma,1)``;
2. Johnstone's (2001) real-Gaussian edge for the largest eigenvalue of W Wᵀ/M,
   ``edge = sigma^2 (sqrt(N-1) + sqrt(M))^2 / M`` with TW1 scale
   ``s_TW = sigma^2 (sqrt(N-1) + sqrt(M)) (1/sqrt(N-1) + 1/sqrt(M))^(1/3) / M``;
   eigenvalues above ``edge + margin * s_TW`` (margin 3 by default; the TW1 0.99
   quantile is 2.02) are spikes;
3. ``sigma^2`` = mean of the bulk (the MP mean is sigma^2), and repeat 2-3 until
   the set of spikes stops changing (at most ``max_iter`` rounds).

Uncertainty: ``scale_se = sigma^2 sqrt(2 / (n_bulk M))``, the standard error of the
mean eigenvalue ``tr(W Wᵀ)/(N M)`` for Gaussian entries (eigenvalues of a Wishart
matrix are strongly correlated, so the iid formula std/sqrt(n) would be far too large).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..laws import MarchenkoPastur
from ._results import FitResult, degenerate_note, fit_quality, ks_statistic
from ._spectrum import resolve

__all__ = ["MPFit", "fit_mp", "tw_edge"]


@dataclass(frozen=True)
class MPFit(FitResult):
    """Result of :func:`fit_mp`; ``status`` is "ok" or "failed" (then ``message`` says why:
    too few eigenvalues left in the bulk, or a degenerate spectrum, all eigenvalues equal).
    ``fit_quality``: "good" when the bulk's KS distance ``ks`` is within the 95 % critical
    value at ``n_used`` (:func:`~htmp.fitting.ks_critical`), else "poor"."""

    scale: float             # sigma^2 (the same word as HTMPFit.scale and the table's mp_scale)
    scale_se: float
    gamma: float
    N: int
    M: int | float           # an integer, like ESDResult.M; N / gamma when only gamma was given
    bulk_min: float          # sigma^2 (1 - sqrt gamma)^2
    bulk_max: float          # sigma^2 (1 + sqrt gamma)^2
    edge_tw: float           # Johnstone's finite-N centring of the top eigenvalue
    tw_scale: float
    threshold: float         # edge_tw + margin * tw_scale
    n_spikes: int
    spikes: tuple
    n_zero: int
    n_used: int
    loglik: float            # on the bulk; -inf when a bulk eigenvalue is outside the MP support
    ks: float
    n_iter: int
    status: str = "ok"
    message: str = ""
    fit_quality: str = ""

    @property
    def sigma2(self) -> float:
        """MP's customary name for :attr:`scale` (sigma^2): the same number."""
        return self.scale

    @property
    def law(self) -> MarchenkoPastur:
        return MarchenkoPastur(gamma=self.gamma, scale=self.scale)


@lru_cache(maxsize=256)
def _mp_median(gamma: float) -> float:
    """Median of MP(gamma, 1) (a 64-step bisection: cached per gamma)."""
    return float(MarchenkoPastur(gamma=gamma).ppf(0.5))


def tw_edge(sigma2: float, N: int, M: float) -> tuple[float, float]:
    """Johnstone's centring and TW1 scale for the top eigenvalue of W Wᵀ / M (MATH.md section 9)."""
    n1 = max(N - 1, 1)
    root = math.sqrt(n1) + math.sqrt(M)
    edge = sigma2 * root ** 2 / M
    scale = sigma2 * root * (1 / math.sqrt(n1) + 1 / math.sqrt(M)) ** (1 / 3) / M
    return edge, scale


def _failed(sp, msg, n_iter=0) -> MPFit:
    nan = math.nan
    return MPFit(nan, nan, sp.gamma, sp.N, _dim(sp.M), nan, nan, nan, nan, nan, 0, (), sp.n_zero,
                 0, nan, nan, n_iter, "failed", msg)


def _dim(M) -> int | float:
    """M as an int when it is one (from an ESD or N=/M=), else the float N / gamma."""
    return int(M) if float(M).is_integer() else float(M)


def fit_mp(eigs, *, gamma=None, N=None, M=None, margin: float = 3.0,
           max_iter: int = 20) -> MPFit:
    """Fit MP_{gamma, sigma^2} to a spectrum (an array or :func:`htmp.esd`'s result).

    ``gamma`` (or ``N`` and ``M``) is taken from an ESD result when not given; for a
    bare array N defaults to the number of eigenvalues and M to N / gamma.
    """
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0 (TW scales), got {margin!r}")
    sp = resolve(eigs, gamma, N, M)
    x, g = sp.positive, sp.gamma
    if degenerate_note(x):
        return _failed(sp, degenerate_note(x))
    sigma2 = float(np.median(x) / _mp_median(float(g)))
    spikes_mask = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        edge, s_tw = tw_edge(sigma2, sp.N, sp.M)
        mask = x > edge + margin * s_tw
        bulk = x[~mask]
        if len(bulk) < 2:
            return _failed(sp, f"fewer than 2 eigenvalues left in the bulk after "
                               f"{n_iter} round(s) (edge {sp.scale(edge):.4g})", n_iter)
        new_sigma2 = float(np.mean(bulk))
        done = spikes_mask is not None and np.array_equal(mask, spikes_mask)
        spikes_mask, sigma2 = mask, new_sigma2
        if done:
            break
    edge, s_tw = tw_edge(sigma2, sp.N, sp.M)
    bulk, spikes = x[~spikes_mask], x[spikes_mask]
    law = MarchenkoPastur(gamma=g, scale=sigma2)
    with np.errstate(divide="ignore"):
        ll = float(np.sum(law.logpdf(bulk)))
    lo, hi = law.support()
    ks = ks_statistic(bulk, law.cdf(bulk))
    u = sp.scale                      # the fit ran in units of 2^sp.unit: scales back, exactly
    return MPFit(scale=u(sigma2), scale_se=u(sigma2 * math.sqrt(2.0 / (len(bulk) * sp.M))),
                 gamma=g, N=sp.N, M=_dim(sp.M), bulk_min=u(float(lo)), bulk_max=u(float(hi)),
                 edge_tw=u(edge), tw_scale=u(s_tw), threshold=u(edge + margin * s_tw),
                 n_spikes=int(len(spikes)), spikes=tuple(np.ldexp(spikes, sp.unit).tolist()),
                 n_zero=sp.n_zero, n_used=int(len(bulk)), loglik=sp.loglik(ll, len(bulk)),
                 ks=ks, n_iter=n_iter, fit_quality=fit_quality(ks, len(bulk)))
