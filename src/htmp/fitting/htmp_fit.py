"""Maximum-likelihood fits of HTMP(gamma, kappa, scale) and InverseHTMP to a spectrum.

The eigenvalues are treated as an iid sample (a pseudo-likelihood: eigenvalues of
one matrix repel each other, so the reported standard error, from the observed
information of this pseudo-likelihood, is a rough guide, not a calibrated interval).

* gamma is fixed (from the ESD / the argument).
* The scale is profiled out: for each kappa a bounded Brent search on log(scale)
  (cheap: it reuses the tabulated law of that kappa).
* kappa: start at the moment estimate ``kappa0 = 2 / (var/(mean^2 gamma) - 1)``
  (HTMP variance is scale^2 gamma (1 + 2/kappa), MATH.md section 2.2), then
  successive parabolic interpolation on ``u = log kappa`` inside
  ``[log kappa_min, log kappa_max]``; every distinct kappa costs one table build
  (0.02-0.1 s), so the search stops at a 1 % step and after ``max_iter`` builds.
  A fit that reaches ``kappa_max`` (default 1000) has status "mp-like".
* Spikes: after a fit, eigenvalues beyond the law's ``isf(spike_level / n)`` are set
  aside and the fit is repeated (at most ``max_rounds`` rounds, at most 5 % of n).
* SE of kappa: ``kappa / sqrt(-d2 l / du2)`` from a quadratic fitted to the profile
  log-likelihood at the evaluated points nearest the optimum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..laws import HTMP, InverseHTMP
from ._results import FitResult, ks_statistic
from ._spectrum import resolve

__all__ = ["HTMPFit", "fit_htmp", "fit_inverse_htmp"]


@dataclass(frozen=True)
class HTMPFit(FitResult):
    """Result of :func:`fit_htmp` / :func:`fit_inverse_htmp`.

    ``status``: "ok", "mp-like" (kappa reached ``kappa_max``), "at-lower-bound"
    (kappa reached ``kappa_min``), "max-iter" (the search stopped at its cap; the
    values are the best point found) or "failed" (NaN values, ``message`` says why).
    """

    law_name: str
    kappa: float
    kappa_se: float
    scale: float
    gamma: float
    kappa_moments: float     # the moment estimate used as a start (inf: variance <= MP's)
    loglik: float
    ks: float
    n_used: int
    n_spikes: int
    spikes: tuple
    n_zero: int
    n_evals: int             # distinct kappa values tried (table builds)
    status: str = "ok"
    message: str = ""

    @property
    def law(self):
        cls = HTMP if self.law_name == "htmp" else InverseHTMP
        return cls(gamma=self.gamma, kappa=self.kappa, scale=self.scale)


_LAWS = {"htmp": HTMP, "inverse-htmp": InverseHTMP}


def _moment_kappa(y: np.ndarray, gamma: float) -> float:
    m, v = float(np.mean(y)), float(np.var(y))
    excess = v / (m * m * gamma) - 1.0
    return 2.0 / excess if excess > 0 else math.inf


_GRID = 0.02   # log-kappa grid of the search: every layer with the same gamma reuses the
               # law tables (cached per (alpha, c)); the estimate is refined off-grid below


class _Profile:
    """Profile log-likelihood in u = log kappa (scale maximised), memoised, on a u-grid."""

    def __init__(self, cls, x, gamma, scale0):
        self.cls, self.x, self.gamma, self.log_s0 = cls, x, gamma, math.log(scale0)
        self.cache: dict[float, tuple[float, float]] = {}

    def __call__(self, u: float) -> float:
        u = round(u / _GRID) * _GRID
        if u not in self.cache:
            kappa = math.exp(u)

            def nll(ls):
                law = self.cls(gamma=self.gamma, kappa=kappa, scale=math.exp(ls))
                return -float(np.sum(law.logpdf(self.x)))

            r = minimize_scalar(nll, bounds=(self.log_s0 - 1.0, self.log_s0 + 1.0),
                                method="bounded", options={"xatol": 1e-5, "maxiter": 60})
            ll = -float(r.fun)
            self.cache[u] = (ll if math.isfinite(ll) else -math.inf, math.exp(float(r.x)))
        return self.cache[u][0]

    def refine(self, u: float) -> float:
        """Vertex of the parabola through the grid point u and its two neighbours."""
        u = round(u / _GRID) * _GRID
        fa, fb, fc = self(u - _GRID), self(u), self(u + _GRID)
        den = fa - 2 * fb + fc
        if not (math.isfinite(den) and den < 0):
            return u
        return u + 0.5 * _GRID * (fa - fc) / den


def _search(prof: _Profile, u0: float, lo: float, hi: float, max_iter: int, tol: float,
            h: float = 0.3):
    """Bracket then successive parabolic interpolation; returns (u_best, status)."""
    a, b, c = max(lo, u0 - h), min(max(lo, u0), hi), min(hi, u0 + h)
    if a == b:
        b = min(a + h, hi); c = min(b + h, hi)
    if b == c:
        a, b = max(lo, c - 2 * h), max(lo, c - h)
    for _ in range(max_iter):
        if len(prof.cache) >= max_iter:
            break
        fa, fb, fc = prof(a), prof(b), prof(c)
        if fa > fb and a > lo:                      # move left
            step = 2 * (c - a)
            a, b, c = max(lo, a - step), a, b
            continue
        if fc > fb and c < hi:                      # move right
            step = 2 * (c - a)
            a, b, c = b, c, min(hi, c + step)
            continue
        if fa > fb or fc > fb:                      # best at a bound
            return (a if fa > fc else c), ("at-lower-bound" if fa > fc else "mp-like")
        den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
        num = (b - a) ** 2 * (fb - fc) - (b - c) ** 2 * (fb - fa)
        v = b - 0.5 * num / den if den != 0 else b
        if not (a < v < c) or abs(v - b) < tol:
            return b, "ok"
        fv = prof(v)
        if fv > fb:
            a, b, c = (b, v, c) if v > b else (a, v, b)
        else:
            a, c = (a, v) if v > b else (v, c)
        if c - a < 2 * tol:
            return b, "ok"
    best = max(prof.cache, key=lambda u: prof.cache[u][0])
    return best, "max-iter"


def _curvature_se(prof: _Profile, u_best: float) -> float:
    us = np.array(sorted(prof.cache, key=lambda u: abs(u - u_best))[:5])
    if len(us) < 3:
        return math.nan
    ll = np.array([prof.cache[u][0] for u in us])
    if not np.all(np.isfinite(ll)):
        return math.nan
    curv = np.polyfit(us - u_best, ll, 2)[0] * 2.0
    return math.exp(u_best) / math.sqrt(-curv) if curv < 0 else math.nan


def _fit_once(cls, y, gamma, kappa_min, kappa_max, max_iter, tol, u_start=None):
    z = 1.0 / y if cls is InverseHTMP else y      # z ~ HTMP(gamma, kappa, 1/scale) for the inverse law
    k0 = _moment_kappa(z, gamma)
    scale0 = float(np.mean(y)) if cls is HTMP else 1.0 / float(np.mean(z))
    prof = _Profile(cls, y, gamma, scale0)
    lo, hi = math.log(kappa_min), math.log(kappa_max)
    if u_start is None:
        u0, h = min(max(math.log(k0) if math.isfinite(k0) else hi, lo), hi), 0.3
    else:   # a later spike round: the optimum moves little once a few spikes are set aside
        u0, h = u_start, 0.1
    u, status = _search(prof, u0, lo, hi, max_iter, max(tol, _GRID), h)
    u = round(u / _GRID) * _GRID        # the cache's key for that point
    prof(u)
    return prof, u, status, k0


def _fit_kappa(name, eigs, gamma, kappa_min, kappa_max, spike_level, max_rounds, max_iter):
    if not 0 < kappa_min < kappa_max:
        raise ValueError(f"kappa_min, kappa_max must satisfy 0 < kappa_min < kappa_max, "
                         f"got {kappa_min!r}, {kappa_max!r}")
    cls = _LAWS[name]
    sp = resolve(eigs, gamma, None, None, min_size=3)
    if sp.gamma >= 1.0:
        raise ValueError(f"gamma must be in (0, 1) for HTMP (alpha > -1 needs gamma < 1), "
                         f"got {sp.gamma!r}")
    y, spikes = sp.positive, np.empty(0)
    n_evals, u = 0, None
    for _ in range(max_rounds):
        prof, u, status, k0 = _fit_once(cls, y, sp.gamma, kappa_min, kappa_max, max_iter, 0.01, u)
        n_evals += len(prof.cache)
        ll, scale = prof.cache[u]
        if not math.isfinite(ll):
            nan = math.nan
            return HTMPFit(name, nan, nan, nan, sp.gamma, k0, nan, nan, len(y), len(spikes),
                           tuple(spikes.tolist()), sp.n_zero, n_evals, "failed",
                           "log-likelihood is not finite at the optimum")
        law = cls(gamma=sp.gamma, kappa=math.exp(u), scale=scale)
        cut = float(law.isf(spike_level / len(sp.positive)))
        new = y > cut
        if not np.any(new) or len(spikes) + int(new.sum()) > 0.05 * len(sp.positive):
            break
        spikes, y = np.concatenate([spikes, y[new]]), y[~new]
    if status == "ok":           # off-grid estimate from the cached neighbours; the KS and
        u_ref = prof.refine(u)   # log-likelihood stay those of the grid optimum (< 2% away)
        if abs(u_ref - u) <= _GRID:
            u = u_ref
    kappa = math.exp(u)
    return HTMPFit(law_name=name, kappa=kappa, kappa_se=_curvature_se(prof, u), scale=scale,
                   gamma=sp.gamma, kappa_moments=k0, loglik=ll, ks=ks_statistic(y, law.cdf(y)),
                   n_used=int(len(y)), n_spikes=int(len(spikes)),
                   spikes=tuple(float(s) for s in np.sort(spikes)), n_zero=sp.n_zero,
                   n_evals=n_evals, status=status,
                   message={"mp-like": f"kappa reached kappa_max={kappa_max:g}: MP-like",
                            "at-lower-bound": f"kappa reached kappa_min={kappa_min:g}",
                            "max-iter": f"stopped after {max_iter} kappa evaluations"
                            }.get(status, ""))


def fit_htmp(eigs, *, gamma=None, kappa_min: float = 0.05, kappa_max: float = 1000.0,
             spike_level: float = 0.01, max_rounds: int = 3, max_iter: int = 25) -> HTMPFit:
    """Fit HTMP(gamma, kappa, scale) by maximum likelihood on the bulk (spikes set aside).

    ``eigs``: an array (then ``gamma`` is required) or :func:`htmp.esd`'s result.
    ``spike_level``: expected number of bulk eigenvalues wrongly flagged as spikes.
    """
    return _fit_kappa("htmp", eigs, gamma, kappa_min, kappa_max, spike_level, max_rounds,
                      max_iter)


def fit_inverse_htmp(eigs, *, gamma=None, kappa_min: float = 0.05, kappa_max: float = 1000.0,
                     spike_level: float = 0.01, max_rounds: int = 3,
                     max_iter: int = 25) -> HTMPFit:
    """Fit InverseHTMP(gamma, kappa, scale) (law of scale/Y, Y ~ HTMP) to a feature-matrix spectrum."""
    return _fit_kappa("inverse-htmp", eigs, gamma, kappa_min, kappa_max, spike_level,
                      max_rounds, max_iter)
