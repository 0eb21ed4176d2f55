"""Maximum-likelihood fits of HTMP(gamma, kappa, scale) and InverseHTMP to a spectrum.

The eigenvalues are treated as an iid sample (a pseudo-likelihood: eigenvalues of one
matrix repel each other, so intervals from this likelihood are nominal; measured, the
spread of kappa-hat sits at or below the iid Cramer-Rao bound, docs/fitting.md).

* gamma: the finite-N value ``gamma_eff = N / (M + 1)`` (``finite_n=True``, the default):
  the beta-Laguerre weight has exponent (beta/2)(M - N + 1) - 1 with beta = kappa/N, which
  is HTMP's alpha = kappa (1 - gamma)/(2 gamma) - 1 at gamma = N/(M+1).  It is defined for
  square matrices (N = M), where gamma = N/M = 1 is not.  ``finite_n=False`` uses N/M.
* The scale is profiled out (:class:`~htmp.fitting._profile.Profile`); numerically zero
  eigenvalues are censored at the zero tolerance, set-aside spikes truncate the law.
* kappa: a bracket and successive parabolic steps on a lattice in u = log kappa (steps of
  0.1 below kappa = 10, 0.2 to 30, 0.4 above; shared between layers with the same gamma:
  tables are cached per (alpha, c)), started at the moment estimate
  ``2 / (var/(mean^2 gamma) - 1)`` (outliers beyond mean + 5 sd set aside), then one point
  on the fine grid (0.02) at the parabola's vertex.
  The search runs on [kappa_min, kappa_max]; kappa_max defaults to :func:`kappa_mp`, the
  largest kappa an n-eigenvalue spectrum can tell from Marchenko-Pastur.
* Result at a search end: at kappa_max the likelihood is flat towards MP (the kappa -> inf
  limit): ``kappa = inf``, status "mp-like", ``kappa_lo`` its lower 95 % limit.  At
  kappa_min: ``kappa = nan``, status "at-lower-bound", ``kappa_hi`` its upper limit.
* Interval: the nominal 95 % profile-likelihood interval {kappa : l(kappa) >= l_max - 1.92}
  (``kappa_hi = inf`` when it reaches kappa_max: MP is not excluded).
* Spikes (:func:`fit_htmp` alone): after a fit, eigenvalues beyond the law's
  ``isf(spike_level / n)`` are set aside, the law is truncated between the kept and the
  set-aside eigenvalues and the fit is repeated (at most ``max_rounds`` rounds, at most 5 %
  of n).  :func:`htmp.fitting.compare_mp_htmp` instead fits MP and HTMP on one common set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..laws import HTMP, InverseHTMP
from ..laws.tables import KAPPA_MAX
from ._profile import FINE, Profile, parabola
from ._results import FitResult, degenerate_note, fit_quality, ks_statistic
from ._spectrum import resolve

__all__ = ["HTMPFit", "fit_htmp", "fit_inverse_htmp", "kappa_mp", "KAPPA_MIN", "LR95"]

KAPPA_MIN = 0.05
LR95 = 1.920729410347062      # chi2(1) 0.95 quantile / 2: the profile-likelihood drop
_MP_FLOOR, _MP_CAP = 50.0, 1000.0


def kappa_mp(n: int) -> float:
    """The kappa that stands for Marchenko-Pastur (kappa -> inf) with n eigenvalues: n,
    clipped to [50, 1000] and put on the fit's log-kappa grid.

    On Wishart spectra the log-likelihood of HTMP(kappa) falls short of MP's by about
    0.6-0.9 n / kappa (measured at n = 256-1000, docs/phases.md), so at kappa = n the two
    differ by < 1 nat, below the 1.92 of a 95 % likelihood-ratio test: no n-eigenvalue
    spectrum can tell them apart.  Above 1000 (n > 1000) the table of the law costs
    ~0.1 ms per unit of kappa to build; there the comparison is with HTMP(1000).
    """
    k = min(max(float(n), _MP_FLOOR), _MP_CAP)
    return math.exp(round(math.log(k) / FINE) * FINE)


@dataclass(frozen=True)
class HTMPFit(FitResult):
    """Result of :func:`fit_htmp` / :func:`fit_inverse_htmp`.

    ``kappa``: the estimate; ``inf`` when the likelihood keeps rising to ``kappa_max``
    (status "mp-like"), ``nan`` at ``kappa_min`` (status "at-lower-bound") or when the
    fit failed.  ``kappa_lo``/``kappa_hi``: nominal 95 % profile-likelihood interval
    (``kappa_hi = inf``: MP is not excluded).  ``kappa_fit``: the grid point whose
    ``scale``, ``loglik`` and ``ks`` are reported (within 1 % of kappa when finite).
    ``loglik_mp``: the profile log-likelihood at ``kappa_max``.  ``gamma``: the law's
    aspect ratio (``gamma_eff = N/(M+1)`` unless ``finite_n=False``).
    ``status``: "ok", "mp-like", "at-lower-bound", "max-iter" (the search stopped at
    its cap; the values are the best point found) or "failed" (``message`` says why: a
    likelihood that is not finite, or a degenerate spectrum, all eigenvalues equal).
    """

    law_name: str
    kappa: float
    kappa_lo: float
    kappa_hi: float
    kappa_se: float          # from the curvature of the profile (rough; nan at a bound)
    kappa_fit: float
    scale: float
    gamma: float
    kappa_moments: float     # the moment estimate used as a start (inf: variance <= MP's)
    loglik: float
    loglik_mp: float
    ks: float
    n_used: int
    n_spikes: int
    spikes: tuple
    n_zero: int              # numerically zero eigenvalues, censored at the zero tolerance
    kappa_max: float
    n_loglik_evals: int      # kappa values evaluated (profile points, summed over rounds)
    status: str = "ok"
    message: str = ""
    fit_quality: str = ""    # "good" / "poor": ks against its 95 % critical value at n_used

    @property
    def law(self):
        """The fitted law at ``kappa_fit`` (the MP stand-in ``kappa_max`` when "mp-like")."""
        cls = HTMP if self.law_name == "htmp" else InverseHTMP
        return cls(gamma=self.gamma, kappa=self.kappa_fit, scale=self.scale)


_LAWS = {"htmp": HTMP, "inverse-htmp": InverseHTMP}
# The search moves on a lattice of the fine grid that layers with the same gamma share
# (the law tables are cached per grid point): 0.1 in log kappa below kappa = 10, 0.2 up to
# kappa = 30, 0.4 above, where tables cost ~0.1 ms per unit of kappa to build and an
# n <= 15000 spectrum resolves log kappa to no better than ~0.2 (docs/fitting.md).
_LATTICE = ((round(math.log(10.0) / FINE), 5), (round(math.log(30.0) / FINE), 10),
            (10 ** 9, 20))


def _lattice(klo: int, khi: int) -> np.ndarray:
    """Sorted fine indices of the search lattice in [klo, khi], the bounds included."""
    pts, start = [klo, khi], klo
    for end, step in _LATTICE:
        first = -((-start) // step) * step
        pts.extend(range(first, min(end, khi + 1), step))
        start = max(start, end)
        if start > khi:
            break
    return np.unique(np.clip(np.array(pts, dtype=int), klo, khi))


def _moment_kappa(y: np.ndarray, gamma: float) -> float:
    m, v = float(np.mean(y)), float(np.var(y))
    excess = v / (m * m * gamma) - 1.0
    return 2.0 / excess if excess > 0 else math.inf


def _start_kappa(y: np.ndarray, gamma: float) -> float:
    """Moment estimate of kappa on the data with outliers beyond mean + 5 sd set aside
    (3 passes, at most 5% of the points): spikes inflate the variance and would start the
    search several times too low.  Only the search's start: the estimate is the ML optimum."""
    z = y
    for _ in range(3):
        keep = z < float(np.mean(z)) + 5.0 * float(np.std(z))
        if keep.all() or len(y) - int(keep.sum()) > 0.05 * len(y):
            break
        z = z[keep]
    return _moment_kappa(z, gamma)


def _search(prof: Profile, k0: int, L: np.ndarray, max_evals: int, step: int):
    """Discrete maximum of the profile on the lattice L (sorted fine indices).

    Bracket from the lattice point nearest k0 (first points -+ ``step`` lattice points,
    growing moves), then successive parabolic steps rounded to the lattice until the
    parabola's vertex is nearest the best point or the bracket is three neighbouring
    lattice points.  Returns (a, b, c, status) in fine indices.
    """
    hi_c = len(L) - 1

    def f(j):
        return prof(int(L[j]))

    def fine(*js):
        return tuple(int(L[j]) for j in js)

    def toward(far, end, js, fs):
        """The next point beyond ``end``: the lattice point nearest the vertex of the
        parabola through the bracket when that lies between ``end`` and ``far`` (the
        growing move), else ``far``."""
        top = parabola(fine(*js), fs)
        if top is None:
            return far
        v = int(np.clip(np.searchsorted(L, top[0]), 0, hi_c))
        if v > 0 and top[0] - L[v - 1] < L[v] - top[0]:
            v -= 1
        return v if min(end, far) < v < max(end, far) else far

    b = min(int(np.searchsorted(L, k0)), hi_c)
    if b > 0 and k0 - L[b - 1] < L[b] - k0:
        b -= 1
    a, c = max(0, b - step), min(hi_c, b + step)
    if a == b:
        b, c = min(a + 1, hi_c), min(a + 2, hi_c)
    if b == c:
        a, b = max(0, c - 2), max(0, c - 1)
    while True:
        if len(prof.cache) >= max_evals:
            return fine(a, b, c) + ("max-iter",)
        fa, fb, fc = f(a), f(b), f(c)
        if fa > fb and a > 0:                         # move left
            a, b, c = toward(max(0, a - 2 * (c - a)), a, (a, b, c), (fa, fb, fc)), a, b
        elif fc > fb and c < hi_c:                    # move right
            a, b, c = b, c, toward(min(hi_c, c + 2 * (c - a)), c, (a, b, c), (fa, fb, fc))
        elif fa > fb or fc > fb:                      # best at a bound
            return fine(a, a, b) + ("at-lower-bound",) if fa > fc else \
                   fine(b, c, c) + ("mp-like",)
        else:
            break
    converged = False
    while c - a > 2 and len(prof.cache) < max_evals:
        fa, fb, fc = f(a), f(b), f(c)
        top = parabola(fine(a, b, c), (fa, fb, fc))
        v = None
        if top is not None:
            v = int(np.clip(np.searchsorted(L, top[0]), 1, hi_c))
            v -= int(top[0] - L[v - 1] < L[v] - top[0])
            if v == b:                                # the vertex is nearest b: done
                converged = True
                break
        if v is None or not a < v < c:                # bisect the larger side
            v = (a + b) // 2 if b - a > c - b else (b + c + 1) // 2
        if v == b or not a < v < c:
            break
        fv = f(v)
        if fv > fb:
            a, b, c = (b, v, c) if v > b else (a, v, b)
        elif v > b:
            c = v
        else:
            a = v
    return fine(a, b, c) + ("ok" if converged or c - a <= 2 else "max-iter",)


def _refine(prof: Profile, a: int, b: int, c: int, max_evals: int,
            fine: bool = True) -> tuple[int, float]:
    """Fine grid point nearest the coarse parabola's vertex (evaluated when ``fine``), and the
    log-kappa estimate from the parabola through the best point and its evaluated
    neighbours."""
    top = parabola((prof.u(a), prof.u(b), prof.u(c)), (prof(a), prof(b), prof(c)))
    if fine and top is not None and len(prof.cache) < max_evals and c - a > 2:
        k = min(max(round(top[0] / FINE), a + 1), c - 1)
        prof(k)
    ks = sorted(prof.cache)
    best = max(ks, key=lambda k: prof.cache[k][0])
    i = ks.index(best)
    if 0 < i < len(ks) - 1:
        pts = ks[i - 1:i + 2]
        top = parabola([prof.u(k) for k in pts], [prof.cache[k][0] for k in pts])
        if top is not None and prof.u(pts[0]) <= top[0] <= prof.u(pts[2]):
            return best, top[0]
    return best, prof.u(best)


def _curvature(prof: Profile, u_best: float) -> float:
    """Second derivative of the profile in u at its maximum (quadratic through the nearest
    evaluated points), nan when it cannot be estimated."""
    ks = sorted(prof.cache, key=lambda k: abs(prof.u(k) - u_best))[:5]
    if len(ks) < 3:
        return math.nan
    us = np.array([prof.u(k) for k in ks])
    ll = np.array([prof.cache[k][0] for k in ks])
    if not np.all(np.isfinite(ll)) or np.ptp(us) == 0:
        return math.nan
    curv = np.polyfit(us - u_best, ll, 2)[0] * 2.0
    return curv if curv < 0 else math.nan


def _limit(prof: Profile, kb: int, target: float, L: np.ndarray, direction: int,
           guess: float, top: tuple | None = None) -> float | None:
    """u where the profile falls to ``target`` walking from kb outwards over the lattice L
    in ``direction``; None if it stays above to the lattice end.

    Secant steps on h(u) = sqrt(l_top - l(u)), which is linear in |u - u_top| where the
    profile is quadratic about its top (u_top, l_top) (the search's vertex, ``top``; kb and
    l(kb) without one), each rounded to the lattice (its points are shared by the layers with
    the same gamma), until the crossing is bracketed within ``_LIMIT_WIDTH`` lattice steps;
    then the quadratic in h through the top and the two bracketing points (linear
    interpolation where it does not apply).  ``guess``: the predicted distance in u (from
    the curvature), nan if unknown.
    """
    P = L[L > kb] if direction > 0 else L[L < kb][::-1]      # outward order
    if len(P) == 0:
        return None
    fb = prof(kb)
    u_top, l_top = (prof.u(kb), fb) if top is None or not top[1] >= fb else top
    h_star = math.sqrt(l_top - target)

    def dist(i):                     # distance in u of P[i] (of kb for i = -1) from the top
        return abs((prof.u(kb) if i < 0 else prof.u(int(P[i]))) - u_top)

    def h(i):
        v = fb if i < 0 else prof(int(P[i]))
        return math.sqrt(l_top - v) if v < l_top else 0.0   # v = -inf: h = inf

    def nearest(d):                  # index in P nearest the distance d from the top
        i = int(np.argmin(np.abs(P - (u_top + direction * d) / FINE)))
        return min(max(i, inside + 1), len(P) - 1 if outside is None else outside - 1)

    inside, outside = -1, None       # -1: kb itself
    i = nearest(guess) if math.isfinite(guess) and guess > 0 else 0
    while True:
        if prof(int(P[i])) < target:
            outside = i
        else:
            inside = i
        if outside is None:
            if inside == len(P) - 1:
                return None
            h_in, d_in = h(inside), dist(inside)
            d_pred = d_in * h_star / h_in if h_in > 0 else math.inf
            i = nearest(min(max(d_pred * 1.05, d_in + 1e-9), 4.0 * d_in + 0.4))
            continue
        if outside - inside <= _LIMIT_WIDTH:
            break
        i = nearest(_cross(dist(inside), h(inside), dist(outside), h(outside), h_star))
        if not inside < i < outside:
            i = (inside + outside) // 2
    d = _cross(dist(inside), h(inside), dist(outside), h(outside), h_star)
    return u_top + direction * d


_LIMIT_WIDTH = 4


def _cross(d_in: float, h_in: float, d_out: float, h_out: float, h_star: float) -> float:
    """Distance where h = h_star, between d_in (h_in <= h_star) and d_out (h_out > h_star):
    the quadratic through (0, 0), (d_in, h_in), (d_out, h_out) when it is increasing over the
    bracket, else linear interpolation (the midpoint when h_out is not finite)."""
    if not math.isfinite(h_out):
        return 0.5 * (d_in + d_out)
    if d_in > 0 and d_out > d_in:
        # q(d) = b d + a d^2 through both points
        a = (h_out / d_out - h_in / d_in) / (d_out - d_in)
        b = h_in / d_in - a * d_in
        if b + 2 * a * d_in > 0 and b + 2 * a * d_out > 0:     # increasing on the bracket
            if abs(a) < 1e-12 * abs(b):
                return h_star / b
            disc = b * b + 4 * a * h_star
            if disc >= 0:
                root = 2 * h_star / (b + math.sqrt(disc))       # the root near the bracket
                if d_in <= root <= d_out:
                    return root
    frac = (h_star - h_in) / (h_out - h_in) if h_out > h_in else 0.5
    return d_in + frac * (d_out - d_in)


def _fit_profile(prof: Profile, gamma: float, kappa_min: float, kappa_max: float,
                 max_iter: int, u_start: float | None = None, refine: bool = True) -> dict:
    """Search and refine on one profile: dict(best, u, kappa, se, status, k0, lo, hi, curv)
    with kappa as described in :class:`HTMPFit` (the interval is :func:`_interval`'s).
    ``refine``: evaluate one fine-grid point at the vertex (a table of its own: the
    comparison of :mod:`compare` skips it and keeps the vertex of the lattice points)."""
    k0 = _moment_kappa(prof.z, gamma)   # z ~ HTMP(gamma, kappa, 1/scale) for the inverse law
    klo, khi = round(math.log(kappa_min) / FINE), round(math.log(kappa_max) / FINE)
    if u_start is None:
        k_start = _start_kappa(prof.z, gamma)
        u0 = math.log(k_start) if math.isfinite(k_start) else khi * FINE
        step = 2                                     # 0.2 in log kappa
    else:   # a later spike round: the optimum moves little once a few spikes are set aside
        u0, step = u_start, 1
    kstart = min(max(round(u0 / FINE), klo), khi)
    L = _lattice(klo, khi)
    a, b, c, status = _search(prof, kstart, L, max_iter, step)
    best, u_est = (_refine(prof, a, b, c, max_iter, refine) if status == "ok"
                   else (b, prof.u(b)))
    curv = _curvature(prof, u_est)
    kappa = {"mp-like": math.inf, "at-lower-bound": math.nan}.get(status, math.exp(u_est))
    se = math.exp(u_est) / math.sqrt(-curv) if status == "ok" and math.isfinite(curv) \
        else math.nan
    return dict(best=best, u=u_est, status=status, k0=k0, kappa=kappa, se=se, curv=curv,
                lo=math.nan, hi=math.nan, klo=klo, khi=khi, lattice=L)


def _mp_like_guess(prof: Profile, top: int, L: np.ndarray, target: float) -> float:
    """Distance in u from the top of the search down to the lower 95 % limit, predicted from
    the two highest evaluated points with l(kappa) = l_inf - B / kappa (the measured large-
    kappa behaviour: B = 0.6-0.9 n on Wishart spectra); nan when it does not apply."""
    below = [k for k in prof.cache if k < top]
    if not below:
        return math.nan
    k2 = max(below)
    k_top, kap2 = math.exp(prof.u(top)), math.exp(prof.u(k2))
    B = (prof.cache[top][0] - prof.cache[k2][0]) / (1.0 / kap2 - 1.0 / k_top)
    drop = prof.cache[top][0] - target
    if not (B > 0 and math.isfinite(B)):
        return math.nan
    return prof.u(top) - math.log(1.0 / (1.0 / k_top + drop / B))


def _top(prof: Profile, best: int) -> tuple | None:
    """(u, l) of the vertex of the parabola through the best evaluated point and its
    evaluated neighbours, None unless it lies between them."""
    ks = sorted(prof.cache)
    i = ks.index(best)
    if not 0 < i < len(ks) - 1:
        return None
    pts = ks[i - 1:i + 2]
    top = parabola([prof.u(k) for k in pts], [prof.cache[k][0] for k in pts])
    if top is None or not prof.u(pts[0]) <= top[0] <= prof.u(pts[2]):
        return None
    return top


def _interval(prof: Profile, res: dict) -> dict:
    """Fill res["lo"], res["hi"]: the nominal 95 % profile-likelihood interval (0 / inf
    where it reaches the end of the search range)."""
    best, curv = res["best"], res["curv"]
    ll_best = prof.cache[best][0]
    if not math.isfinite(ll_best):
        return res
    guess = math.sqrt(2 * LR95 / -curv) if math.isfinite(curv) else math.nan
    target = ll_best - LR95
    L = res["lattice"]
    if best >= res["khi"]:
        guess = _mp_like_guess(prof, best, L, target)
    top = _top(prof, best)
    lo = None if best <= res["klo"] else _limit(prof, best, target, L, -1, guess, top)
    hi = None if best >= res["khi"] else _limit(prof, best, target, L, +1, guess, top)
    res["lo"] = 0.0 if lo is None else math.exp(lo)
    res["hi"] = math.inf if hi is None else math.exp(hi)
    return res


def resolve_gamma(sp, finite_n: bool) -> float:
    """The law's gamma for a resolved spectrum: N/(M+1) (finite_n) or N/M."""
    if finite_n:
        return sp.N / (sp.M + 1.0)
    if sp.gamma >= 1.0:
        raise ValueError(f"gamma must be in (0, 1) for HTMP with finite_n=False (alpha > -1 "
                         f"needs gamma < 1), got {sp.gamma!r}; finite_n=True uses "
                         f"gamma_eff = N/(M+1), defined for square matrices")
    return sp.gamma


def _fit_kappa(name, eigs, gamma, N, M, kappa_min, kappa_max, spike_level, max_rounds,
               max_iter, finite_n):
    sp = resolve(eigs, gamma, N, M, min_size=3)
    n = len(sp.positive)
    kappa_max = kappa_mp(n) if kappa_max is None else float(kappa_max)
    if not 0 < kappa_min < kappa_max <= KAPPA_MAX:
        raise ValueError(f"kappa_min, kappa_max must satisfy 0 < kappa_min < kappa_max <= "
                         f"{KAPPA_MAX:g} (the largest kappa of htmp.HTMP), "
                         f"got {kappa_min!r}, {kappa_max!r}")
    g = resolve_gamma(sp, finite_n)
    if degenerate_note(sp.positive):       # a point mass: the search would call it "MP-like"
        nan = math.nan
        return HTMPFit(name, nan, nan, nan, nan, nan, nan, g, nan, nan, nan, nan, n, 0, (),
                       sp.n_zero, kappa_max, 0, "failed", degenerate_note(sp.positive))
    inverse = name == "inverse-htmp"
    y, spikes, cut = sp.positive, np.empty(0), None
    n_prev, u_est = 0, None
    for rnd in range(max_rounds):
        prof = Profile(inverse, y, g, cut=cut, n_below=sp.n_zero, tol=sp.tol)
        res = _fit_profile(prof, g, kappa_min, kappa_max, max_iter, u_est)
        best, u_est = res["best"], res["u"]
        if not math.isfinite(prof.cache[best][0]):
            break
        # the spike cut is that of the best grid point (within 1 % in kappa of the estimate)
        new = y > prof.upper_cut(best, spike_level / n)
        if not np.any(new) or len(spikes) + int(new.sum()) > 0.05 * n or \
                rnd == max_rounds - 1:      # the last round's fit is the one reported
            break
        n_prev += len(prof.cache)
        spikes, y = np.concatenate([spikes, y[new]]), y[~new]
        cut = 0.5 * (float(y[-1]) + float(spikes.min()))
    ll = prof.cache[best][0]
    spikes = np.ldexp(spikes, sp.unit)     # the fit ran in units of 2^sp.unit (exact)
    if not math.isfinite(ll):
        nan = math.nan
        return HTMPFit(name, nan, nan, nan, nan, nan, nan, g, res["k0"], nan, nan, nan, len(y),
                       len(spikes), tuple(spikes.tolist()), sp.n_zero, kappa_max,
                       n_prev + len(prof.cache), "failed",
                       "log-likelihood is not finite at the optimum")
    res = _interval(prof, res)
    ks = ks_statistic(y, prof.conditional_cdf(best, y))
    k_top = round(math.log(kappa_max) / FINE)
    prof(k_top)
    status = res["status"]
    msg = {"mp-like": f"kappa reached kappa_max={kappa_max:.4g} (the MP limit): MP-like, "
                      f"kappa >= {res['lo']:.3g} (95 %)",
           "at-lower-bound": f"kappa reached kappa_min={kappa_min:g}: kappa <= "
                             f"{res['hi']:.3g} (95 %), no point value",
           "max-iter": f"stopped after {max_iter} kappa evaluations"}.get(status, "")
    return HTMPFit(law_name=name, kappa=res["kappa"], kappa_lo=res["lo"], kappa_hi=res["hi"],
                   kappa_se=res["se"], kappa_fit=math.exp(prof.u(best)),
                   scale=sp.scale(prof.cache[best][1]), gamma=g, kappa_moments=res["k0"],
                   loglik=sp.loglik(ll, len(y)), loglik_mp=sp.loglik(prof.cache[k_top][0], len(y)),
                   ks=ks, n_used=int(len(y)), fit_quality=fit_quality(ks, len(y)),
                   n_spikes=int(len(spikes)), spikes=tuple(float(s) for s in np.sort(spikes)),
                   n_zero=sp.n_zero, kappa_max=kappa_max, n_loglik_evals=n_prev + len(prof.cache),
                   status=status,
                   message="; ".join(m for m in (msg, sp.zero_note(censored=True)) if m))


def fit_htmp(eigs, *, gamma=None, N=None, M=None, kappa_min: float = KAPPA_MIN,
             kappa_max: float | None = None, spike_level: float = 0.01, max_rounds: int = 3,
             max_iter: int = 25, finite_n: bool = True) -> HTMPFit:
    """Fit HTMP(gamma, kappa, scale) by maximum likelihood on the bulk (spikes set aside).

    ``eigs``: an array (then ``gamma``, or ``N`` and ``M``, is required) or
    :func:`htmp.esd`'s result.  ``kappa_max``: top of the search, default
    :func:`kappa_mp` (n) (the MP stand-in).  ``spike_level``: expected number of bulk
    eigenvalues wrongly flagged as spikes.  ``finite_n``: use ``gamma_eff = N/(M+1)``.
    """
    return _fit_kappa("htmp", eigs, gamma, N, M, kappa_min, kappa_max, spike_level,
                      max_rounds, max_iter, finite_n)


def fit_inverse_htmp(eigs, *, gamma=None, N=None, M=None, kappa_min: float = KAPPA_MIN,
                     kappa_max: float | None = None, spike_level: float = 0.01,
                     max_rounds: int = 3, max_iter: int = 25,
                     finite_n: bool = True) -> HTMPFit:
    """Fit InverseHTMP(gamma, kappa, scale) (law of scale/Y, Y ~ HTMP) to a feature-matrix
    spectrum; arguments as :func:`fit_htmp`."""
    return _fit_kappa("inverse-htmp", eigs, gamma, N, M, kappa_min, kappa_max, spike_level,
                      max_rounds, max_iter, finite_n)
