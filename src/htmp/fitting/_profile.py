"""Profile log-likelihood of HTMP / InverseHTMP in u = log kappa, the scale maximised.

The sample is the eigenvalues a fit keeps (``y``), possibly

* **truncated above** at ``cut``: the top eigenvalues set aside as spikes are not claimed by
  the law, so every observation is conditioned on ``Y <= cut``;
* **censored below** at ``tol``: ``n_below`` eigenvalues are numerically zero (below the
  eigensolver's absolute accuracy), known only to be ``<= tol``.  HTMP at small kappa and
  gamma near 1 puts real mass there (finite-N square layers), so dropping them would bias
  kappa upwards (measured: 384 x 384 beta-Laguerre samples at kappa = 2 gave 2.5-2.8).

With x = z e^t (z = y for HTMP, z = 1/y for InverseHTMP; X ~ nu_{alpha, c}) the
log-likelihood is::

    sum_i log f(z_i e^t) + n t + C  +  n_below log P(Y <= tol)  -  (n + n_below) log P(Y <= cut)

(C = 0 for HTMP, -2 sum log y for InverseHTMP), where P(Y <= b) is F(b e^t) for HTMP and
S(e^t / b) for InverseHTMP.  For each kappa the scale is a 1-D maximisation in t by
Newton steps with the exact derivatives of the tabulated log-density, from the scale of
the nearest evaluated kappa (or the moment-matched scale for the first), until a step is
below 1e-5 (one compiled loop when numba is installed and nothing is censored); where
Newton fails, a 9-point grid evaluated in one vectorised call of the tabulated density,
moved until the maximum is inside, then Newton again.  The density comes from a *bulk*
table of nu_{alpha,c} (walks stopped at mass e^-30 / density e^-80, about a third of the
full table's cost), the full table where data fall outside it.
"""
from __future__ import annotations

import math

import numpy as np

from ..laws import _kummer_jit
from ..laws.tables import bulk_table, kummer_table, raw_params, table_quantile

__all__ = ["FINE", "Profile"]

FINE = 0.02          # log-kappa grid of every evaluated point: the law tables are cached per
                     # (alpha, c), so fits with the same gamma share the tables of shared points
_SCALE_STEP = 0.05   # log-scale spacing of the first vectorised scale-profile grid
_SCALE_TOL = 1e-5    # the scale profile stops at a Newton step (in log scale) below this;
                     # the value g(t) - g'^2/(2 g'') is then exact to O(step^3) and t + step
                     # to O(step^2): fits started from a grid or from the moment-matched
                     # scale agree to 3e-7 relative in scale, KS and log-likelihood (2e-5
                     # with steps of 1e-3)
_FD = 1e-4           # log-x step of the finite difference used outside a table
_WARM_BRACKET = 0.25  # Newton from a neighbour's scale stays within this of its start
_FIRST_BRACKET = 1.0  # ... and from the moment-matched scale (measured: the maximum lies
                      # within 0.7 of it on the benchmark layers)
_NEWTON_STEPS = 8    # Newton steps of the scale profile before it counts as failed
_P_FLOOR = 1e-300    # a censoring probability below this counts as this (MP's edge gives 0:
                     # a finite, very large penalty keeps the comparison defined)


def parabola(u, f):
    """(vertex, value there) of the parabola through three points, or None unless concave."""
    (u1, u2, u3), (f1, f2, f3) = u, f
    d1, d2 = (f2 - f1) / (u2 - u1), (f3 - f2) / (u3 - u2)
    a = (d2 - d1) / (u3 - u1)                       # f = f2 + b (v - u2) + a (v - u2)^2
    if not (math.isfinite(a) and a < 0):
        return None
    b = d1 + a * (u2 - u1)
    v = u2 - b / (2 * a)
    return v, f2 - b * b / (4 * a)


class Profile:
    """Profile log-likelihood on the fine log-kappa grid, memoised per grid point.

    ``y``: the kept eigenvalues (> 0, sorted); ``gamma``: the law's aspect ratio (the
    finite-N ``gamma_eff`` when the caller uses it); ``cut``: upper truncation point (None:
    no truncation); ``n_below`` eigenvalues censored at ``tol``.
    """

    def __init__(self, inverse: bool, y: np.ndarray, gamma: float, *, cut: float | None = None,
                 n_below: int = 0, tol: float = 0.0):
        self.inverse, self.gamma = inverse, gamma
        self.z = 1.0 / y if inverse else y
        self.z_lo, self.z_hi = float(np.min(self.z)), float(np.max(self.z))
        self.n = len(y)
        self.const = -2.0 * float(np.sum(np.log(y))) if inverse else 0.0
        self.log_mean_z = math.log(float(np.mean(self.z)))
        # boundary events {Y <= b} with their weights in the log-likelihood
        self.bounds = []
        if cut is not None and math.isfinite(cut):
            self.bounds.append((1.0 / cut if inverse else cut, -(self.n + n_below), False))
        if n_below > 0:
            if not tol > 0:
                raise ValueError(f"tol must be > 0 when n_below > 0, got {tol!r}")
            self.bounds.append((1.0 / tol if inverse else tol, n_below, True))
        self.cut, self.n_below, self.tol = cut, n_below, tol
        self.cache: dict[int, tuple] = {}   # fine index -> (loglik, scale, t, table)

    @staticmethod
    def u(k: int) -> float:
        return k * FINE

    def __call__(self, k: int) -> float:
        if k not in self.cache:
            self.cache[k] = self._evaluate(math.exp(self.u(k)), self._warm_start(k))
        return self.cache[k][0]

    def _warm_start(self, k: int):
        """Offset t - t_moments of the evaluated grid point nearest k (None if none): the
        scale moves smoothly with kappa, so Newton can start there instead of on a grid."""
        near = [j for j in self.cache if math.isfinite(self.cache[j][2])]
        if not near:
            return None
        j = min(near, key=lambda i: abs(i - k))
        return self.cache[j][2] - self._t_moments(math.exp(self.u(j)))

    def _t_moments(self, kappa: float) -> float:
        return math.log(kappa / (2.0 * self.gamma)) - self.log_mean_z   # E[X] = kappa/(2 gamma)

    # -- pieces of the log-likelihood ----------------------------------------------------
    @staticmethod
    def _covering(table, lo: float, hi: float):
        """The bulk table if [lo, hi] lies inside it, else the full table (same density)."""
        if lo >= table.x0[0] and hi <= table.x0[-1]:
            return table
        return kummer_table(table.alpha, table.c)

    @staticmethod
    def _event_table(table, censor: bool):
        """The censoring point lies deep in a tail, where only the full table keeps relative
        precision; the cut is near the data (or beyond them, where P = 1 to rounding)."""
        return kummer_table(table.alpha, table.c) if censor and table.partial else table

    def _event_logp(self, table, xb: np.ndarray) -> np.ndarray:
        """log P(Y <= b) at the nu-coordinates xb of a boundary (F for HTMP, S for inverse)."""
        F, S = table.cdf_sf(xb)
        return np.log(np.maximum(S if self.inverse else F, _P_FLOOR))

    def _cut_logp(self, table, xb: np.ndarray) -> np.ndarray:
        """log P(Y <= cut): the event has probability near 1, so the phase's CDF (absolute
        precision ~1e-14, no tail integrals to build) is all it needs.  Beyond the table's
        far end the mass left is < e^-30: P = 1 there."""
        lo, hi = table.x0[0], table.x0[-1]
        if np.any(xb > hi) if self.inverse else np.any(xb < lo):
            return self._event_logp(table, xb)        # the improbable side: full treatment
        F = np.where(xb > hi, 1.0, 0.0)
        inside = (xb >= lo) & (xb <= hi)
        if np.any(inside):
            F[inside] = np.clip(table.phase(xb[inside]) / (math.pi * table.c), 0.0, 1.0)
        return np.log(np.maximum(1.0 - F if self.inverse else F, _P_FLOOR))

    def _logp(self, table, xb: np.ndarray, censor: bool) -> np.ndarray:
        if censor:
            return self._event_logp(self._event_table(table, True), xb)
        return self._cut_logp(table, xb)

    def _boundary(self, table, t: np.ndarray) -> np.ndarray:
        out = np.zeros(len(t))
        for zb, w, censor in self.bounds:
            out += w * self._logp(table, zb * np.exp(t), censor)
        return out

    def _g(self, table, t: np.ndarray) -> np.ndarray:
        x = (self.z[None, :] * np.exp(t)[:, None]).ravel()
        table = self._covering(table, x.min(), x.max())
        with np.errstate(over="ignore", invalid="ignore"):
            g = table.logpdf(x).reshape(len(t), self.n).sum(axis=1) + self.n * t
            if self.bounds:
                g = g + self._boundary(table, t)
        return np.where(np.isnan(g), -np.inf, g)

    def _evaluate(self, kappa: float, offset: float | None = None):
        alpha, c, s = raw_params(self.gamma, kappa)
        table = bulk_table(alpha, c)
        t0 = self._t_moments(kappa)
        # Newton from the neighbour's scale, else from the moment-matched one; the grid
        # where Newton fails or leaves its bracket
        start, width = (t0, _FIRST_BRACKET) if offset is None else (t0 + offset, _WARM_BRACKET)
        best = self._newton(table, start, start - width, start + width)
        if best is None:
            best = self._grid_maximum(table, t0)
        if best is None:
            return -math.inf, math.nan, math.nan, table
        t_best, g_best = best
        ll = float(g_best) + self.const
        scale = s * math.exp(t_best) if self.inverse else math.exp(-t_best) / s
        return (ll if math.isfinite(ll) else -math.inf), scale, float(t_best), table

    def _grid_maximum(self, table, t0: float):
        """9-point grids in t (moved until the maximum is inside), then Newton; None if the
        log-likelihood is not finite anywhere on them."""
        centre, offsets = t0, _SCALE_STEP * np.arange(-4, 5)
        for _ in range(40):                                  # at most +-8 in log scale
            ts = centre + offsets
            g = self._g(table, ts)
            i = int(np.argmax(g))
            if 0 < i < len(ts) - 1 or not np.isfinite(g[i]):
                break
            centre = ts[i]
        if not np.isfinite(g[i]):
            return None
        if 0 < i < len(ts) - 1:
            return self._maximise(table, ts, g, i)
        return ts[i], g[i]

    def _newton(self, table, t: float, lo: float, hi: float):
        """Newton on g(t) from t inside (lo, hi) with the exact derivatives of the tabulated
        log-density (the cut's own terms from the same call when it lies in the table);
        (t, g) once a step is below _SCALE_TOL, None when it fails or leaves (lo, hi)."""
        cut = self.bounds[0] if self.bounds and not self.bounds[0][2] else None
        others = [b for b in self.bounds if b is not cut]
        jit = _kummer_jit.load()
        if jit is not None and not others:
            # one compiled loop on the bulk table; where the data leave it (code 2), on the
            # full table with logpdf's tail form beyond its end (what _g evaluates there)
            for full in (False, True):
                if full and not table.partial:
                    break
                tab = kummer_table(table.alpha, table.c) if full else table
                if tab.lcoef.shape[1] < 2 or len(tab.x0) < 2:
                    break
                lr = tab.left_log_ratio
                code, t_new, g = jit.newton_scale(
                    tab.x0, tab._mids, tab.lcoef, tab.logf0, tab.pcoef, tab.theta0, tab.alpha,
                    tab.c, self.z, self.z_lo, self.z_hi, math.nan if cut is None else cut[0],
                    0.0 if cut is None else float(cut[1]), self.inverse, t, lo, hi,
                    _SCALE_TOL, _P_FLOOR, _NEWTON_STEPS, not tab.partial, lr.real, lr.imag)
                if code == 1:
                    return t_new, g
                if code == 0:
                    return None
        for _ in range(_NEWTON_STEPS):
            e = math.exp(t)
            tab = self._covering(table, self.z_lo * e, self.z_hi * e)
            xc = cut[0] * e if cut is not None else math.nan
            joint = cut is not None and tab.x0[0] <= xc <= tab.x0[-1]
            sums = self._derivative_sums(tab, e, xc if joint else None)
            if sums is None:
                return None
            s_lf, s_d1, s_d12, cut_lf, cut_d1 = sums
            bv = b1 = b2 = 0.0
            if joint:                            # the cut: P = F (or S) from the phase
                F = tab.phase_at(xc) / (math.pi * tab.c)
                logp = math.log(max(1.0 - F if self.inverse else F, _P_FLOOR))
                q = math.exp(math.log(xc) + cut_lf - logp)
                h1, h2 = (-q, -q * (1.0 + cut_d1 + q)) if self.inverse else \
                    (q, q * (1.0 + cut_d1 - q))
                w = cut[1]
                bv, b1, b2 = w * logp, w * h1, w * h2
            rest = others if joint or cut is None else self.bounds
            for zb, w, censor in rest:
                v, h1, h2 = self._boundary_terms(table, t, zb, censor)
                bv, b1, b2 = bv + w * v, b1 + w * h1, b2 + w * h2
            g1 = s_d1 + self.n + b1                      # g'(t)
            g2 = s_d12 + b2                              # g''(t)
            if not (g2 < 0 and math.isfinite(g1) and math.isfinite(bv)):
                return None
            step = -g1 / g2
            if abs(step) < _SCALE_TOL:               # converged: g(t + step) = g(t) + O(step^2)
                return t + step, s_lf + self.n * t + bv - 0.5 * g1 * g1 / g2
            if not lo < t + step < hi:
                return None
            t += step
        return None

    def _derivative_sums(self, tab, e: float, xc: float | None):
        """(sum log f, sum x (log f)', sum x (log f)' + x^2 (log f)'') at x = z e, and log f
        and x (log f)' at the cut xc (nan without one); None if an x lies outside ``tab``.
        Compiled in one pass when numba is (no per-point arrays)."""
        if not (tab.x0[0] <= self.z_lo * e and self.z_hi * e <= tab.x0[-1]):
            return None
        nan = math.nan
        jit = _kummer_jit.load()
        if jit is not None and tab.lcoef.shape[1] >= 1 and len(tab.x0) > 1:
            s0, s1, s12 = jit.derivative_sums(tab.x0, tab._mids, tab.lcoef, tab.logf0,
                                              self.z, e)
            if xc is None:
                return s0, s1, s12, nan, nan
            lf, d1, _ = tab.logpdf_derivatives(np.array([xc]))
            return s0, s1, s12, float(lf[0]), float(d1[0])
        d = tab.logpdf_derivatives(self.z * e if xc is None else np.append(self.z * e, xc))
        if d is None:
            return None
        lf, d1, d2 = d
        if xc is None:
            return float(lf.sum()), float(d1.sum()), float((d1 + d2).sum()), nan, nan
        return (float(lf[:-1].sum()), float(d1[:-1].sum()), float((d1[:-1] + d2[:-1]).sum()),
                float(lf[-1]), float(d1[-1]))

    def _boundary_terms(self, table, t: float, zb: float, censor: bool):
        """(log P, d/dt, d2/dt2) of one boundary event {Y <= b} at t."""
        tab = self._event_table(table, censor)
        x = zb * math.exp(t)
        xa = np.array([x * math.exp(-_FD), x, x * math.exp(_FD)])
        lf = tab.logpdf(xa)
        logp = float(self._logp(table, xa[1:2], censor)[0])
        if not math.isfinite(logp):
            return -math.inf, math.nan, math.nan
        d1 = (lf[2] - lf[0]) / (2 * _FD)                     # x d/dx log f
        q = math.exp(math.log(x) + lf[1] - logp)              # x f / P
        h1, h2 = (-q, -q * (1.0 + d1 + q)) if self.inverse else (q, q * (1.0 + d1 - q))
        return logp, h1, h2

    def _maximise(self, table, ts, g, i):
        """Maximum of g(t) bracketed by ts[i -+ 1]: Newton from the parabola's vertex; where
        that is unavailable (a point outside the table) or fails, shrinking 9-point grids."""
        lo, hi = ts[i - 1], ts[i + 1]
        top = parabola(ts[i - 1:i + 2], g[i - 1:i + 2])
        t = top[0] if top is not None and lo < top[0] < hi else ts[i]
        found = self._newton(table, t, lo, hi)
        if found is not None:
            return found
        while hi - lo > _SCALE_TOL:                  # fallback: shrink the bracket 4x a round
            ts = np.linspace(lo, hi, 9)
            g = self._g(table, ts)
            i = min(max(int(np.argmax(g)), 1), len(ts) - 2)
            lo, hi = ts[i - 1], ts[i + 1]
        return ts[i], g[i]

    # -- the fitted law at a grid point ----------------------------------------------------
    def upper_cut(self, k: int, q: float) -> float:
        """y with P(Y > y) = q under the (untruncated) law fitted at grid point k."""
        _, _, t, table = self.cache[k]
        if self.inverse:          # y = e^t / x: the upper tail of Y is the lower one of X
            x = float(table_quantile(table, np.array([q]), upper=False)[0])
            return math.exp(t) / x if x > 0 else math.inf   # X's quantile underflowed: y = inf
        return float(table_quantile(table, np.array([q]), upper=True)[0]) * math.exp(-t)

    def cdf(self, k: int, y: np.ndarray, *, full: bool = False) -> np.ndarray:
        """CDF of the (untruncated) law fitted at grid point k: to absolute precision ~1e-14
        from the phase (what the KS distance needs), or with ``full`` from the full table,
        with relative precision deep in the tails."""
        _, _, t, table = self.cache[k]
        if full:
            table = self._event_table(table, True)
            if self.inverse:
                return table.cdf_sf(math.exp(t) / y)[1]
            return table.cdf_sf(y * math.exp(t))[0]
        if self.inverse:
            return 1.0 - table.cdf_abs(math.exp(t) / y)
        return table.cdf_abs(y * math.exp(t))

    def conditional_cdf(self, k: int, y: np.ndarray) -> np.ndarray:
        """CDF at y of the law fitted at k, conditioned on tol < Y <= cut: what the kept
        eigenvalues are compared with (their KS distance)."""
        hi = 1.0 if self.cut is None or not math.isfinite(self.cut) else \
            float(self.cdf(k, np.array([self.cut]))[0])
        lo = float(self.cdf(k, np.array([self.tol]), full=True)[0]) if self.n_below > 0 else 0.0
        return np.clip((self.cdf(k, y) - lo) / max(hi - lo, 1e-300), 0.0, 1.0)
