"""Maximum-likelihood fits of HTMP(gamma, kappa, scale) and InverseHTMP to a spectrum.

The eigenvalues are treated as an iid sample (a pseudo-likelihood: eigenvalues of
one matrix repel each other, so the reported standard error, from the observed
information of this pseudo-likelihood, is a rough guide, not a calibrated interval).

* gamma is fixed (from the ESD / the argument).
* The scale is profiled out: for each kappa a 9-point grid in log(scale), evaluated in
  one vectorised call of the tabulated density, then Newton steps with the exact
  derivatives of the tabulated log-density (to 1e-7 in log scale).  The density comes
  from a *bulk* table of nu_{alpha,c} (walks stopped at mass e^-30 / density e^-80,
  about a third of the full table's cost), the full table where data fall outside.
* kappa: start at the moment estimate ``kappa0 = 2 / (var/(mean^2 gamma) - 1)``
  (HTMP variance is scale^2 gamma (1 + 2/kappa), MATH.md section 2.2), computed with
  outliers beyond mean + 5 sd set aside (spikes inflate the variance); then a bracket
  and successive parabolic steps on a coarse grid u = log kappa in steps of 0.1, which
  layers with the same gamma share (the tables are cached per (alpha, c)); then one point
  on the fine grid (0.02) at the parabola's vertex, and the estimate is the vertex of the
  parabola through the best point and its evaluated neighbours.  At most ``max_iter``
  kappa evaluations; a fit at ``kappa_max`` (default 1000) has status "mp-like".
* Spikes: after a fit, eigenvalues beyond the law's ``isf(spike_level / n)`` are set
  aside and the fit is repeated (at most ``max_rounds`` rounds, at most 5 % of n).
* SE of kappa: ``kappa / sqrt(-d2 l / du2)`` from a quadratic fitted to the profile
  log-likelihood at the evaluated points nearest the optimum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ..laws import HTMP, InverseHTMP
from ..laws._kummer import bulk_table, kummer_table
from ..laws.htmp_law import _raw_params
from ..laws.trinh_trinh import _invert
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
    n_evals: int             # kappa values evaluated (profile points, summed over spike rounds)
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


def _start_kappa(y: np.ndarray, gamma: float) -> float:
    """Moment estimate of kappa on the data with outliers beyond mean + 5 sd set aside
    (3 passes, at most 5% of the points): spikes inflate the variance and would start the
    search several times too low (MiniLM's feed-forward layers: 0.12-0.7 -> 0.6-1.6, against
    ML estimates of 0.9-2.0).  Only the search's start: the estimate is the ML optimum."""
    z = y
    for _ in range(3):
        keep = z < float(np.mean(z)) + 5.0 * float(np.std(z))
        if keep.all() or len(y) - int(keep.sum()) > 0.05 * len(y):
            break
        z = z[keep]
    return _moment_kappa(z, gamma)


_FINE = 0.02     # log-kappa grid of every evaluated point: the law tables are cached per
                 # (alpha, c), so fits with the same gamma share the tables of shared points
_COARSE = 5      # the search moves on every 5th fine point (0.1 in log kappa), which layers
                 # with the same gamma mostly share; one fine point then refines the optimum
_SCALE_STEP = 0.05   # log-scale spacing of the first vectorised scale-profile grid
_SCALE_TOL = 1e-7    # the scale profile stops at a Newton step (in log scale) below this


def _parabola(u, f):
    """(vertex, value there) of the parabola through three points, or None unless concave."""
    (u1, u2, u3), (f1, f2, f3) = u, f
    d1, d2 = (f2 - f1) / (u2 - u1), (f3 - f2) / (u3 - u2)
    a = (d2 - d1) / (u3 - u1)                       # f = f2 + b (v - u2) + a (v - u2)^2
    if not (math.isfinite(a) and a < 0):
        return None
    b = d1 + a * (u2 - u1)
    v = u2 - b / (2 * a)
    return v, f2 - b * b / (4 * a)


class _Profile:
    """Profile log-likelihood in u = log kappa (the scale maximised), memoised per grid point.

    With x = z e^t (z = y for HTMP, 1/y for InverseHTMP) the log-likelihood of either law
    is  sum log f_{alpha,c}(z e^t) + n t + C  (C = 0, resp. -2 sum log y), so for each kappa
    the scale is a 1-D maximisation in t: a 9-point grid evaluated in one vectorised call of
    the tabulated density (moved until the maximum is inside), then Newton steps with the
    exact derivatives of the tabulated log-density, to 1e-7 in t.
    """

    def __init__(self, inverse: bool, y: np.ndarray, gamma: float):
        self.inverse, self.gamma = inverse, gamma
        self.z = 1.0 / y if inverse else y
        self.n = len(y)
        self.const = -2.0 * float(np.sum(np.log(y))) if inverse else 0.0
        self.log_mean_z = math.log(float(np.mean(self.z)))
        self.cache: dict[int, tuple] = {}   # fine index -> (loglik, scale, t, table)

    def u(self, k: int) -> float:
        return k * _FINE

    def __call__(self, k: int) -> float:
        if k not in self.cache:
            self.cache[k] = self._evaluate(math.exp(self.u(k)))
        return self.cache[k][0]

    @staticmethod
    def _covering(table, lo: float, hi: float):
        """The bulk table if [lo, hi] lies inside it, else the full table (same density)."""
        if lo >= table.x0[0] and hi <= table.x0[-1]:
            return table
        return kummer_table(table.alpha, table.c)

    def _g(self, table, t: np.ndarray) -> np.ndarray:
        x = (self.z[None, :] * np.exp(t)[:, None]).ravel()
        table = self._covering(table, x.min(), x.max())
        with np.errstate(over="ignore", invalid="ignore"):
            g = table.logpdf(x).reshape(len(t), self.n).sum(axis=1) + self.n * t
        return np.where(np.isnan(g), -np.inf, g)

    def _evaluate(self, kappa: float) -> tuple[float, float]:
        alpha, c, s = _raw_params(self.gamma, kappa)
        table = bulk_table(alpha, c)
        t0 = math.log(alpha + c + 1.0) - self.log_mean_z     # E[X] = alpha + c + 1: moments
        centre, offsets = t0, _SCALE_STEP * np.arange(-4, 5)
        for _ in range(40):                                  # at most +-8 in log scale
            ts = centre + offsets
            g = self._g(table, ts)
            i = int(np.argmax(g))
            if 0 < i < len(ts) - 1 or not np.isfinite(g[i]):
                break
            centre = ts[i]
        if not np.isfinite(g[i]):
            return -math.inf, math.nan, math.nan, table
        t_best, g_best = ts[i], g[i]
        if 0 < i < len(ts) - 1:
            t_best, g_best = self._maximise(table, ts, g, i)
        ll = float(g_best) + self.const
        scale = s * math.exp(t_best) if self.inverse else math.exp(-t_best) / s
        return (ll if math.isfinite(ll) else -math.inf), scale, float(t_best), table

    # The spike cut and the KS of the fitted law at a grid point, from the bulk table (its
    # CDF is exact to < e^-30 absolute, far below what either needs).
    def upper_cut(self, k: int, q: float) -> float:
        """y with P(Y > y) = q under the law fitted at grid point k."""
        _, _, t, table = self.cache[k]
        if self.inverse:          # y = e^t / x: the upper tail of Y is the lower one of X
            return math.exp(t) / float(_invert(table, np.array([q]), upper=False)[0])
        return float(_invert(table, np.array([q]), upper=True)[0]) * math.exp(-t)

    def cdf(self, k: int, y: np.ndarray) -> np.ndarray:
        _, _, t, table = self.cache[k]
        if self.inverse:
            return table.cdf_sf(math.exp(t) / y)[1]
        return table.cdf_sf(y * math.exp(t))[0]

    def _maximise(self, table, ts, g, i):
        """Maximum of g(t) bracketed by ts[i -+ 1]: Newton with the exact derivatives of the
        tabulated log-density from the parabola's vertex; where that is unavailable (a
        point outside the table) or fails, shrinking 9-point grids."""
        lo, hi = ts[i - 1], ts[i + 1]
        top = _parabola(ts[i - 1:i + 2], g[i - 1:i + 2])
        t = top[0] if top is not None and lo < top[0] < hi else ts[i]
        for _ in range(8):
            x = self.z * math.exp(t)
            d = self._covering(table, x.min(), x.max()).logpdf_derivatives(x)
            if d is None:
                break
            lf, d1, d2 = d
            g1 = float(d1.sum()) + self.n            # g'(t)
            g2 = float((d1 + d2).sum())              # g''(t)
            if not (g2 < 0 and math.isfinite(g1)):
                break
            step = -g1 / g2
            if abs(step) < _SCALE_TOL:               # converged: g(t + step) = g(t) + O(step^2)
                return t + step, float(lf.sum()) + self.n * t - 0.5 * g1 * g1 / g2
            if not lo < t + step < hi:
                break
            t += step
        while hi - lo > _SCALE_TOL:                  # fallback: shrink the bracket 4x a round
            ts = np.linspace(lo, hi, 9)
            g = self._g(table, ts)
            i = min(max(int(np.argmax(g)), 1), len(ts) - 2)
            lo, hi = ts[i - 1], ts[i + 1]
        return ts[i], g[i]


def _search(prof: _Profile, k0: int, klo: int, khi: int, max_evals: int, step: int):
    """Discrete maximum of the profile on the coarse grid (indices multiple of _COARSE).

    Bracket from k0 (first points k0 -+ ``step`` coarse points, growing moves), then
    successive parabolic steps rounded to the coarse grid until the bracket is three
    neighbouring coarse points.  Returns (a, b, c, status) in fine indices.
    """
    C, f = _COARSE, prof
    lo_c, hi_c = -((-klo) // C), khi // C                 # coarse range inside the bounds
    b = min(max(round(k0 / C), lo_c), hi_c)
    a, c = max(lo_c, b - step), min(hi_c, b + step)
    if a == b:
        b, c = min(a + 1, hi_c), min(a + 2, hi_c)
    if b == c:
        a, b = max(lo_c, c - 2), max(lo_c, c - 1)
    while True:
        if len(prof.cache) >= max_evals:
            return a * C, b * C, c * C, "max-iter"
        fa, fb, fc = f(a * C), f(b * C), f(c * C)
        if fa > fb and a > lo_c:                      # move left
            a, b, c = max(lo_c, a - 2 * (c - a)), a, b
        elif fc > fb and c < hi_c:                    # move right
            a, b, c = b, c, min(hi_c, c + 2 * (c - a))
        elif fa > fb or fc > fb:                      # best at a bound
            return (a * C, a * C, b * C, "at-lower-bound") if fa > fc else \
                   (b * C, c * C, c * C, "mp-like")
        else:
            break
    while c - a > 2 and len(prof.cache) < max_evals:
        fa, fb, fc = f(a * C), f(b * C), f(c * C)
        top = _parabola((a, b, c), (fa, fb, fc))
        v = round(top[0]) if top is not None else None
        if v is None or not a < v < c or v == b:      # bisect the larger side
            v = (a + b) // 2 if b - a > c - b else (b + c + 1) // 2
        if v == b or not a < v < c:
            break
        fv = f(v * C)
        if fv > fb:
            a, b, c = (b, v, c) if v > b else (a, v, b)
        elif v > b:
            c = v
        else:
            a = v
    status = "ok" if c - a <= 2 else "max-iter"
    return a * C, b * C, c * C, status


def _refine(prof: _Profile, a: int, b: int, c: int, max_evals: int) -> tuple[int, float]:
    """Fine grid point nearest the coarse parabola's vertex (evaluated), and the log-kappa
    estimate from the parabola through the best point and its evaluated neighbours."""
    top = _parabola((prof.u(a), prof.u(b), prof.u(c)), (prof(a), prof(b), prof(c)))
    if top is not None and len(prof.cache) < max_evals:
        k = min(max(round(top[0] / _FINE), a + 1), c - 1)
        prof(k)
    ks = sorted(prof.cache)
    best = max(ks, key=lambda k: prof.cache[k][0])
    i = ks.index(best)
    if 0 < i < len(ks) - 1:
        pts = ks[i - 1:i + 2]
        top = _parabola([prof.u(k) for k in pts], [prof.cache[k][0] for k in pts])
        if top is not None and prof.u(pts[0]) <= top[0] <= prof.u(pts[2]):
            return best, top[0]
    return best, prof.u(best)


def _curvature_se(prof: _Profile, u_best: float) -> float:
    ks = sorted(prof.cache, key=lambda k: abs(prof.u(k) - u_best))[:5]
    if len(ks) < 3:
        return math.nan
    us = np.array([prof.u(k) for k in ks])
    ll = np.array([prof.cache[k][0] for k in ks])
    if not np.all(np.isfinite(ll)):
        return math.nan
    curv = np.polyfit(us - u_best, ll, 2)[0] * 2.0
    return math.exp(u_best) / math.sqrt(-curv) if curv < 0 else math.nan


def _fit_once(cls, y, gamma, kappa_min, kappa_max, max_iter, u_start=None):
    prof = _Profile(cls is InverseHTMP, y, gamma)
    k0 = _moment_kappa(prof.z, gamma)   # z ~ HTMP(gamma, kappa, 1/scale) for the inverse law
    k_start = _start_kappa(prof.z, gamma)
    klo, khi = round(math.log(kappa_min) / _FINE), round(math.log(kappa_max) / _FINE)
    if u_start is None:
        u0 = math.log(k_start) if math.isfinite(k_start) else khi * _FINE
        step = 2                                     # 0.2 in log kappa
    else:   # a later spike round: the optimum moves little once a few spikes are set aside
        u0, step = u_start, 1
    kstart = min(max(round(u0 / _FINE), klo), khi)
    a, b, c, status = _search(prof, kstart, klo, khi, max_iter, step)
    if status == "ok":
        best, u_est = _refine(prof, a, b, c, max_iter)
    else:
        best = b
        u_est = prof.u(best)
    return prof, best, u_est, status, k0


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
    n_evals, u_est = 0, None
    for _ in range(max_rounds):
        prof, best, u_est, status, k0 = _fit_once(cls, y, sp.gamma, kappa_min, kappa_max,
                                                  max_iter, u_est)
        n_evals += len(prof.cache)
        ll, scale = prof.cache[best][:2]
        if not math.isfinite(ll):
            nan = math.nan
            return HTMPFit(name, nan, nan, nan, sp.gamma, k0, nan, nan, len(y), len(spikes),
                           tuple(spikes.tolist()), sp.n_zero, n_evals, "failed",
                           "log-likelihood is not finite at the optimum")
        # the spike cut, the KS and the log-likelihood are those of the best grid point
        # (at most 1% in kappa from the off-grid estimate u_est)
        cut = prof.upper_cut(best, spike_level / len(sp.positive))
        new = y > cut
        if not np.any(new) or len(spikes) + int(new.sum()) > 0.05 * len(sp.positive):
            break
        spikes, y = np.concatenate([spikes, y[new]]), y[~new]
    kappa = math.exp(u_est)
    return HTMPFit(law_name=name, kappa=kappa, kappa_se=_curvature_se(prof, u_est), scale=scale,
                   gamma=sp.gamma, kappa_moments=k0, loglik=ll, ks=ks_statistic(y, prof.cdf(best, y)),
                   n_used=int(len(y)), n_spikes=int(len(spikes)),
                   spikes=tuple(float(s) for s in np.sort(spikes)), n_zero=sp.n_zero,
                   n_evals=n_evals, status=status,
                   message="; ".join(m for m in (
                       {"mp-like": f"kappa reached kappa_max={kappa_max:g}: MP-like",
                        "at-lower-bound": f"kappa reached kappa_min={kappa_min:g}",
                        "max-iter": f"stopped after {max_iter} kappa evaluations"
                        }.get(status, ""), sp.zero_note()) if m))


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
