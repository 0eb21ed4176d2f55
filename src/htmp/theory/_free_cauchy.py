"""Cauchy transforms G(w) = E[1/(w - X)] and G'(w) for the closed upper half plane, fast and
vectorised, as the subordination solver of :mod:`htmp.theory.free` needs them.

Three kinds of measure:

* :class:`Atoms` - an empirical measure (eigenvalues of Sigma): exact sums.
* :class:`ClosedMP` - MarchenkoPastur: its closed form (and the derivative of it).
* :class:`Panels` - any other law with a density: G from the density on Gauss-Legendre panels.
  Far from a panel (outside the Bernstein ellipse of parameter ``RHO_NEAR``) the panel's
  Gauss rule; near it, the exact integral of the panel's Legendre interpolant against
  1/(v - u), i.e. the Legendre functions of the second kind ``2 Q_n(v) = P_n(v) L(v) - e_n(v)``,
  ``L = log(v+1) - log(v-1)``.  This holds down to the real axis (boundary values from above),
  where a law's own ``stieltjes`` falls back on slow per-point quadrature.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Atoms", "ClosedMP", "Panels", "legendre_basis", "M_NODES"]

M_NODES = 16                 # Gauss-Legendre nodes per panel
RHO_NEAR = 3.0               # Gauss-rule error ~ RHO^(-2m) = 5e-16 outside this ellipse
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(M_NODES)
_CHUNK = 256                 # points per block in the far-field sums (memory ~ chunk x nodes)


def legendre_basis(u: np.ndarray, m: int = M_NODES) -> np.ndarray:
    """P_0..P_{m-1} at the points ``u`` (shape (..., m))."""
    u = np.asarray(u)
    out = np.empty(u.shape + (m,), dtype=np.result_type(u, float))
    out[..., 0] = 1.0
    if m > 1:
        out[..., 1] = u
    for n in range(1, m - 1):
        out[..., n + 1] = ((2 * n + 1) * u * out[..., n] - n * out[..., n - 1]) / (n + 1)
    return out


_P_NODES = legendre_basis(_NODES)                                    # (m, m)
_TO_COEF = (_P_NODES * _WEIGHTS[:, None]).T * ((2 * np.arange(M_NODES) + 1) / 2)[:, None]


def legendre_coefficients(values: np.ndarray) -> np.ndarray:
    """Legendre coefficients (..., m) of the interpolant through values at the Gauss nodes."""
    return values @ _TO_COEF.T


def _upper(w: np.ndarray) -> np.ndarray:
    """w with a +0.0 imaginary part where it is zero (boundary values from above)."""
    w = np.asarray(w, dtype=complex)
    return w.real + 1j * (w.imag + 0.0)


class _Transform:
    """T(w) = E[X/(w - X)] = w G(w) - 1 and T'(w) from ``t_dt`` (computed without the
    cancellation of w G - 1 at large |w|); G = (1 + T)/w."""

    def g_dg(self, w):
        w = _upper(w)
        t, dt = self.t_dt(w)
        return (1.0 + t) / w, (dt * w - (1.0 + t)) / (w * w)


class Atoms(_Transform):
    """Equal-weight point masses at ``values`` (duplicates merged into weights)."""

    def __init__(self, values: np.ndarray):
        vals, counts = np.unique(np.asarray(values, dtype=float), return_counts=True)
        self.t, self.q = vals, counts / counts.sum()
        self.mean = float(np.dot(self.q, self.t))
        self.lo, self.hi = float(vals[0]), float(vals[-1])
        self.reach = max(self.hi, np.finfo(float).tiny)

    def t_dt(self, w):
        w = _upper(w)
        t = np.empty(w.shape, dtype=complex)
        dt = np.empty(w.shape, dtype=complex)
        flat, tf, dtf = w.ravel(), t.ravel(), dt.ravel()
        qt = self.q * self.t
        step = max(1, 2_000_000 // max(self.t.size, 1))
        for i in range(0, flat.size, step):
            r = 1.0 / (flat[i:i + step, None] - self.t[None, :])
            tf[i:i + step] = r @ qt
            dtf[i:i + step] = -(r * r) @ qt
        return t, dt


class ClosedMP(_Transform):
    """MarchenkoPastur(gamma, scale): closed-form G and G'."""

    def __init__(self, law):
        self.gamma = float(law.params["gamma"])
        self.scale = float(law.params["scale"])
        self.lo, self.hi = (float(v) for v in law.support())
        self.t_lo = self.lo if self.lo > 0 else float(law.ppf(1e-18))
        self.mean = self.scale
        self.reach = self.hi

    def t_dt(self, w):
        # T = (z - m - root)/(2 g s) rationalised: 2 s / (z - m + root), m = s (1 + g)
        z = _upper(w)
        s, m = self.scale, self.scale * (1 + self.gamma)
        root = np.sqrt(z - self.lo) * np.sqrt(z - self.hi)       # ~ z at infinity
        with np.errstate(divide="ignore", invalid="ignore"):
            den = z - m + root
            droot = (z - 0.5 * (self.lo + self.hi)) / root
            return 2 * s / den, -2 * s * (1 + droot) / (den * den)


def _bernstein_rho(v: np.ndarray) -> np.ndarray:
    """Parameter of the Bernstein ellipse (foci -1, 1) through v; 1 on [-1, 1]."""
    return np.abs(v + np.sqrt(v - 1) * np.sqrt(v + 1))


def _q_sum(coef: np.ndarray, v: np.ndarray):
    """sum_n c_n 2Q_n(v) = integral_{-1}^{1} P(u)/(v - u) du and its v-derivative.

    2 Q_n = P_n L - e_n with L = log(v+1) - log(v-1) and e_n the polynomial part
    (e_0 = 0, e_1 = 2, (n+1) e_{n+1} = (2n+1) v e_n - n e_{n-1}).  Only used inside the
    Bernstein ellipse RHO_NEAR, where the recurrences lose at most RHO_NEAR^m ~ 4e7 x eps
    on coefficients that the panel construction has made decay below 1e-14.
    """
    L = np.log(v + 1) - np.log(v - 1)
    dL = -2.0 / ((v - 1) * (v + 1))
    p_prev, p, dp_prev, dp = np.ones_like(v), v, np.zeros_like(v), np.ones_like(v)
    e_prev, e, de_prev, de = np.zeros_like(v), np.full_like(v, 2.0), np.zeros_like(v), \
        np.zeros_like(v)
    acc = coef[:, 0] * L + coef[:, 1] * (v * L - 2.0)
    dacc = coef[:, 0] * dL + coef[:, 1] * (L + v * dL)
    for n in range(1, coef.shape[1] - 1):
        a, b = (2 * n + 1) / (n + 1), n / (n + 1)
        p_prev, p, dp_prev, dp = p, a * v * p - b * p_prev, dp, a * (p + v * dp) - b * dp_prev
        e_prev, e, de_prev, de = e, a * v * e - b * e_prev, de, a * (e + v * de) - b * de_prev
        acc = acc + coef[:, n + 1] * (p * L - e)
        dacc = dacc + coef[:, n + 1] * (dp * L + p * dL - de)
    return acc, dacc


class Panels(_Transform):
    """G and G' of a law with a density, from the density on adaptive Gauss-Legendre panels.

    The panels cover [t_lo, t_hi], where the mass outside is below ``tail`` (or the support
    ends); each is split until the last two Legendre coefficients of its interpolant are below
    ``tol`` times the density there (or carry mass below ``tail``).  The mass outside is kept as
    two point masses, so the total mass is 1.
    """

    def __init__(self, law, *, tol: float = 1e-14, tail: float = 1e-18, max_panels: int = 4000):
        lo, hi = (float(v) for v in law.support())
        self.lo, self.hi = lo, hi
        t_lo = lo if lo > 0 else float(law.ppf(tail))
        t_hi = hi if np.isfinite(hi) else float(law.isf(tail))
        if not (t_lo > 0 and np.isfinite(t_hi) and t_hi > t_lo):
            raise ValueError(f"law must have a density on an interval inside [0, inf), got "
                             f"support ({lo!r}, {hi!r}) and tail quantiles ({t_lo!r}, {t_hi!r})")
        extra_t, extra_q = [], []
        if lo <= 0 and float(law.cdf(t_lo)) > 0:
            extra_t.append(0.5 * t_lo)
            extra_q.append(float(law.cdf(t_lo)))
        if not np.isfinite(hi) and float(law.sf(t_hi)) > 0:
            extra_t.append(2.0 * t_hi)
            extra_q.append(float(law.sf(t_hi)))
        self.t_lo, self.t_hi = t_lo, t_hi
        n0 = max(4, int(np.ceil(np.log2(t_hi / t_lo))))
        edges = np.geomspace(t_lo, t_hi, n0 + 1)
        self.a, self.b, self.coef, vals = _adapt(law.pdf, edges, tol, tail, max_panels)
        self.c, self.h = 0.5 * (self.a + self.b), 0.5 * (self.b - self.a)
        nodes = self.c[:, None] + self.h[:, None] * _NODES[None, :]
        self.t = np.concatenate([nodes.ravel(), extra_t])
        self.q = np.concatenate([(self.h[:, None] * _WEIGHTS[None, :] * vals).ravel(), extra_q])
        m = float(law.mean())
        self.mean = m if np.isfinite(m) else float(np.dot(self.q, self.t))
        self.reach = float(np.max(self.t))

    def t_dt(self, w):
        w = _upper(w)
        shape, w = w.shape, w.ravel()
        T = np.empty(w.shape, dtype=complex)
        dT = np.empty(w.shape, dtype=complex)
        K, m = self.c.size, M_NODES
        qt = self.q * self.t
        mass = 2.0 * self.h * self.coef[:, 0]
        for i in range(0, w.size, _CHUNK):
            wc = w[i:i + _CHUNK]
            v = (wc[:, None] - self.c[None, :]) / self.h[None, :]
            near = _bernstein_rho(v) < RHO_NEAR
            r = 1.0 / (wc[:, None] - self.t[None, :])
            r[:, :K * m][np.repeat(near, m, axis=1)] = 0.0
            T[i:i + _CHUNK] = r @ qt
            dT[i:i + _CHUNK] = -(r * r) @ qt
            ip, ik = np.nonzero(near)
            if ip.size:
                vv = v[ip, ik]
                # a point on a panel end: the log singularities of neighbours cancel; step off
                vv = np.where(np.abs(np.abs(vv.real) - 1) + np.abs(vv.imag) < 1e-15,
                              vv + 1e-14j, vv)
                g, dg = _q_sum(self.coef[ik], vv)
                dg = dg / self.h[ik]
                wp = w[i + ip]                     # t/(w-t) = w/(w-t) - 1 on a near panel
                np.add.at(T, i + ip, wp * g - mass[ik])
                np.add.at(dT, i + ip, g + wp * dg)
        return T.reshape(shape), dT.reshape(shape)


def _adapt(pdf, edges, tol, tail, max_panels):
    """Split panels until the interpolant of the density is resolved; sorted panels out."""
    todo_a, todo_b = edges[:-1], edges[1:]
    done = []
    while todo_a.size:
        c, h = 0.5 * (todo_a + todo_b), 0.5 * (todo_b - todo_a)
        vals = np.asarray(pdf(c[:, None] + h[:, None] * _NODES[None, :]), dtype=float)
        coef = legendre_coefficients(vals)
        resid = np.abs(coef[:, -1]) + np.abs(coef[:, -2])
        scale = np.max(np.abs(vals), axis=1)
        ok = (resid <= tol * scale) | (h * resid <= tail) | (h <= 1e-13 * c)
        if sum(len(d[0]) for d in done) + 2 * np.count_nonzero(~ok) > max_panels:
            ok[:] = True
        done.append((todo_a[ok], todo_b[ok], coef[ok], vals[ok]))
        split = ~ok
        todo_a, todo_b = (np.concatenate([todo_a[split], c[split]]),
                          np.concatenate([c[split], todo_b[split]]))
    a, b, coef, vals = (np.concatenate(x) for x in zip(*done))
    order = np.argsort(a)
    return a[order], b[order], coef[order], vals[order]
