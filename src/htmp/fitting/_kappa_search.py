"""The kappa search behind the HTMP fits: the maximum of a profile log-likelihood in
u = log kappa and its nominal 95 % interval.

* The lattice: points of the fine grid (0.02 in log kappa) 0.1 apart below kappa = 10, 0.2
  to 30, 0.4 above; layers with the same gamma share them (the law tables are cached per
  (alpha, c)).
* The maximum: from the moment estimate ``2 / (var/(mean^2 gamma) - 1)`` (outliers beyond
  mean + 5 sd set aside) a bracket grows, each move going to the lattice point nearest the
  vertex of the parabola through the last three points (tripling the bracket where that
  vertex is not ahead); then parabolic steps until the vertex is nearest the best point.
* The interval {kappa : l(kappa) >= l_best - 1.92}: each end by secant steps on
  h = sqrt(l_top - l), linear in |u - u_top| where the profile is quadratic, until the
  crossing is bracketed within a few lattice steps, then interpolated.

Measured against the profile on the whole fine grid (docs/fitting.md, tests in
tests/test_fitting_finite_n.py).
"""
from __future__ import annotations

import math

import numpy as np

from ._profile import FINE, Profile, parabola

__all__ = ["LR95", "fit_profile", "profile_interval"]

LR95 = 1.920729410347062      # chi2(1) 0.95 quantile / 2: the profile-likelihood drop
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


def fit_profile(prof: Profile, gamma: float, kappa_min: float, kappa_max: float,
                 max_iter: int, u_start: float | None = None, refine: bool = True) -> dict:
    """Search and refine on one profile: dict(best, u, kappa, se, status, k0, lo, hi, curv)
    with kappa as described in :class:`~htmp.fitting.htmp_fit.HTMPFit` (the interval is
    :func:`profile_interval`'s).
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


def profile_interval(prof: Profile, res: dict) -> dict:
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
