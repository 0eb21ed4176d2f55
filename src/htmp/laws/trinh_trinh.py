"""The Trinh-Trinh (Dung-Duy) law nu_{alpha,c} (MATH.md §2.1), the raw law behind HTMP.

Density on (0, inf)::

    f(x) = x^alpha e^-x / (Gamma(c+1) Gamma(c+alpha+1) |U(c, -alpha, x e^{-i pi})|^2)

It is the limiting spectral distribution of the beta-Laguerre ensemble
prod x_i^alpha e^-x_i prod |x_i - x_j|^beta when beta N -> 2c (no rescaling of the
eigenvalues).  Evaluation goes through :mod:`htmp.laws._kummer` (series: :mod:`htmp.laws._kummer_series`), which builds one
table per distinct (alpha, c) (about 1 s, cached) and then evaluates at millions of
points per second.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_param
from ._base import Law, stieltjes_domain
from ._kummer import ALPHA_MAX, C_MAX, kummer_table
from ._kummer_table import GL20, KummerTable

__all__ = ["TrinhTrinh"]


def _groups(**p):
    """Yield (mask, alpha, c) for each distinct parameter pair in flat arrays."""
    a, c = p["alpha"], p["c"]
    if a.size and np.all(a == a[0]) and np.all(c == c[0]):
        yield slice(None), float(a[0]), float(c[0])
        return
    pairs = np.stack([a, c], axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    inv = np.ravel(inv)
    for k, (ak, ck) in enumerate(uniq):
        yield inv == k, float(ak), float(ck)


def _per_table(fn, x, **p):
    out = np.empty(x.shape, dtype=float)
    for mask, a, c in _groups(**p):
        out[mask] = fn(kummer_table(a, c), x[mask])
    return out


class TrinhTrinh(Law):
    """Trinh-Trinh law nu_{alpha,c}: ``alpha`` in (-1, 1e15], ``c`` in (0, 5000] (MATH.md §2.1).

    The limits (``htmp.laws.tables.ALPHA_MAX``, ``C_MAX``) keep one table build below ~1.5 s
    and the bulk resolved in double precision; see docs/security.md.

    Examples
    --------
    >>> from htmp.laws import TrinhTrinh
    >>> law = TrinhTrinh(alpha=1.0, c=1.5)
    >>> round(float(law.mean()), 12)     # alpha + c + 1
    3.5
    """

    _param_names = ("alpha", "c")

    def __init__(self, *, alpha, c):
        self._set_params(alpha=check_param("alpha", alpha, -1.0, ALPHA_MAX, "left-open"),
                         c=check_param("c", c, 0.0, C_MAX, "left-open"))

    def _support(self, **p):
        return 0.0, np.inf

    def _logpdf(self, x, **p):
        return _per_table(KummerTable.logpdf, x, **p)

    def _cdf(self, x, **p):
        return _per_table(lambda t, xx: t.cdf_sf(xx)[0], x, **p)

    def _sf(self, x, **p):
        return _per_table(lambda t, xx: t.cdf_sf(xx)[1], x, **p)

    def _ppf(self, q, **p):
        return _per_table(lambda t, qq: _invert(t, qq, upper=False), q, **p)

    def _isf(self, q, **p):
        return _per_table(lambda t, qq: _invert(t, qq, upper=True), q, **p)

    def _moment(self, k, **p):
        return np.array([_series_moment(k, float(a), float(c))
                         for a, c in zip(p["alpha"], p["c"])])

    @stieltjes_domain
    def stieltjes(self, z):
        """G(z) = integral f(t)/(z - t) dt for complex z off [0, inf) (MATH.md §2.4).

        Equals -U(c+1, 1-alpha, -z)/U(c, -alpha, -z).  Boundary values on the support
        are taken from above (z = x + 0i).
        """
        z = np.asarray(z, dtype=complex)
        arrays = np.broadcast_arrays(z, *self._params.values())
        zf = np.ravel(arrays[0])
        p = dict(zip(self._params, (np.ravel(a) for a in arrays[1:])))
        out = np.empty(zf.shape, dtype=complex)
        for mask, a, c in _groups(**p):
            out[mask] = _stieltjes(kummer_table(a, c), zf[mask])
        return out.reshape(arrays[0].shape)[()]

    def inverse_moment(self, k: int):
        """E[X^-k], finite iff k < alpha + 1 (``inf`` otherwise)."""
        p = {key: np.ravel(v) for key, v in self._params.items()}
        vals = [_inverse_moment(kummer_table(float(a), float(c)), k) if k < a + 1 else np.inf
                for a, c in zip(p["alpha"], p["c"])]
        return np.asarray(vals).reshape(self._shape)[()]


# -- moments -------------------------------------------------------------------------
def _series_moment(k: int, alpha: float, c: float) -> float:
    """m_k = (J^k)_{00} for the Jacobi operator of nu_{alpha,c} (MATH.md §2.5).

    b_0 = alpha+c+1, b_n = 2n+2c+alpha+1, a_n^2 = (n+c)(n+c+alpha): every entry is positive,
    so the sum over Motzkin paths has no cancellation (unlike the P/Q series division of
    §2.3, which loses ~3 digits at c = 50).  Both agree to 1e-30 in exact arithmetic.
    """
    n = np.arange(k + 1, dtype=float)
    b = 2 * n + 2 * c + alpha + 1
    b[0] = alpha + c + 1
    a = np.sqrt((n[1:] + c) * (n[1:] + c + alpha))      # a_1 .. a_k
    v = np.zeros(k + 1)
    v[0] = 1.0
    for _ in range(k):
        w = b * v
        w[:-1] += a * v[1:]
        w[1:] += a * v[:-1]
        v = w
    return float(v[0])


def _inverse_moment(t: KummerTable, k: int) -> float:
    """E[X^-k] by Gauss-Legendre over the table's segments (plus the Frobenius part below)."""
    a, b = t.x0[:-1], t.x0[1:]
    half, mid = 0.5 * (b - a), 0.5 * (b + a)
    nodes = mid[:, None] + half[:, None] * GL20[0][None, :]
    vals = np.exp(t.logpdf(nodes.ravel()) - k * np.log(nodes.ravel())).reshape(nodes.shape)
    body = float(np.sum(half * (vals @ GL20[1])))
    x0 = t.x0[0]
    below = math.exp(t.logf0[0] - k * math.log(x0)) * x0 / (t.alpha + 1 - k)
    return body + below


# -- quantiles -----------------------------------------------------------------------
def _invert(t: KummerTable, q: np.ndarray, upper: bool) -> np.ndarray:
    """Solve F(x) = q (or S(x) = q when ``upper``) by safeguarded Newton in a bracket.

    g(x) = F(x) - q, or q - S(x), is increasing in x either way; S is used directly for
    ``upper`` so that tiny upper-tail probabilities keep their relative precision.
    """
    F0, S0 = t.cdf_sf(t.x0)
    n = len(t.x0)
    j = np.searchsorted(-S0, -q) if upper else np.searchsorted(F0, q)
    tab = S0 if upper else F0
    lo = t.x0[np.clip(j - 1, 0, n - 1)].copy()
    hi = t.x0[np.clip(j, 0, n - 1)].copy()
    x = np.empty_like(q)
    inside = (j > 0) & (j < n)
    ji = j[inside]
    fa, fb = tab[ji - 1], tab[ji]
    # start from interpolation in log-probability: across one step the tail mass can change
    # by orders of magnitude, and a linear guess would cost Newton many bisections
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (np.log(q[inside]) - np.log(fa)) / (np.log(fb) - np.log(fa))
    w = np.where(np.isfinite(w), np.clip(w, 0.0, 1.0), 0.5)
    x[inside] = lo[inside] + w * (hi[inside] - lo[inside])
    below = j == 0           # left of the table: F ~ F(x0) (x/x0)^(1+alpha)
    qb = (1.0 - q[below]) if upper else q[below]
    x[below] = t.x0[0] * (qb / F0[0]) ** (1.0 / (1.0 + t.alpha))
    lo[below], hi[below] = 0.0, t.x0[0]
    above = j == n
    x[above], lo[above], hi[above] = t.x0[-1], t.x0[-1], np.inf
    active = np.arange(len(q))
    for _ in range(60):
        xa, qa = x[active], q[active]
        F, S = t.cdf_sf(xa)
        g = (qa - S) if upper else (F - qa)
        lo_a = np.where(g < 0, xa, lo[active])
        hi_a = np.where(g > 0, xa, hi[active])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x_new = xa - g / np.exp(t.logpdf(xa))
        bad = ~np.isfinite(x_new) | (x_new < lo_a) | (x_new > hi_a)
        fallback = np.where(np.isfinite(hi_a), 0.5 * (lo_a + hi_a), 2.0 * np.maximum(xa, 1.0))
        x_new = np.where(bad, fallback, x_new)
        # converged: the Newton step is at rounding level, the residual is (relative to q),
        # or the bracket has collapsed; a converged point keeps its Newton value
        resid_ok = np.abs(g) <= 1e-15 * np.minimum(qa, 1.0 - qa + 1e-300)
        x_new = np.where(resid_ok, xa, x_new)
        done = (resid_ok | (np.abs(x_new - xa) <= 1e-15 * np.abs(xa))
                | (hi_a - lo_a <= 1e-15 * np.abs(xa)))
        x[active], lo[active], hi[active] = x_new, lo_a, hi_a
        active = active[~done]
        if active.size == 0:
            break
    return x


# -- Stieltjes transform -------------------------------------------------------------
def _stieltjes(t: KummerTable, z: np.ndarray) -> np.ndarray:
    out = np.empty(z.shape, dtype=complex)
    lower = z.imag < 0
    zz = np.where(lower, np.conj(z), z)
    # near the support: the Taylor centres continue w analytically into the upper half plane
    j = t._nearest(np.clip(zz.real, t.x0[0], t.x0[-1]))
    gaps = np.diff(t.x0)
    reach = 0.5 * np.minimum(np.r_[gaps[0], gaps], np.r_[gaps, gaps[-1]])
    near = (zz.real >= t.x0[0]) & (zz.real <= t.x0[-1]) & (np.abs(zz - t.x0[j]) <= reach[j])
    if np.any(near):
        jn, zn = j[near], zz[near]
        u = (zn - t.x0[jn]) / t.x0[jn]
        p = np.zeros(zn.shape, dtype=complex)
        dp = np.zeros(zn.shape, dtype=complex)
        for k in range(t.coef.shape[1] - 1, -1, -1):
            dp = dp * u + p
            p = p * u + t.coef[jn, k]
        r = dp / (p * t.x0[jn])
        out[near] = -r / t.c
    far = ~near
    if np.any(far):
        out[far] = [_stieltjes_quad(t, complex(v)) for v in zz[far]]
    return np.where(lower, np.conj(out), out)


def _stieltjes_quad(t: KummerTable, z: complex) -> complex:
    """Quadrature of f(t)/(z - t), subdividing segments that come close to z."""
    a, b = t.x0[:-1], t.x0[1:]
    length = b - a
    dist = np.abs(z - np.clip(z.real, a, b))
    pieces = np.clip(np.ceil(2.0 * length / np.maximum(dist, 1e-300)), 1, 4096).astype(int)
    starts = np.repeat(a, pieces) + np.concatenate([np.arange(m) for m in pieces]) * np.repeat(length / pieces, pieces)
    widths = np.repeat(length / pieces, pieces)
    half = 0.5 * widths
    mid = starts + half
    nodes = mid[:, None] + half[:, None] * GL20[0][None, :]
    dens = np.exp(t.logpdf(nodes.ravel())).reshape(nodes.shape)
    body = np.sum(half * ((dens / (z - nodes)) @ GL20[1]))
    x0 = t.x0[0]
    if abs(z) > 1e3 * x0:
        below = t.cum_left[0] / z                # mass below the table, seen from afar
    else:                                        # t = x0 e^-s, s in [0, 92], 8 panels
        edges = np.linspace(0.0, 92.0, 9)
        h, m = 0.5 * np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
        s_nodes = (m[:, None] + h[:, None] * GL20[0][None, :]).ravel()
        tt = x0 * np.exp(-s_nodes)
        vals = np.exp(t.logpdf(tt)) * tt / (z - tt)
        below = np.sum(np.repeat(h, len(GL20[0])) * np.tile(GL20[1], 8) * vals)
    return complex(body + below)
