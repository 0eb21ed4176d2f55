"""The distribution function of mu_1 [x] mu_2 from its density: adaptive Gauss-Legendre panels
in s = log x, the density solved on the real axis at every node (no smoothing).

On each panel the density in s, q(s) = x p(x), is replaced by its degree-15 Legendre
interpolant; the CDF inside a panel is the exact integral of that interpolant.  A panel is
split until the last two Legendre coefficients fall below ``tol`` times the density on it (or
carry less than ``tail`` mass): where q is analytic that bounds the interpolation error, and
at a square-root edge it localises the edge to a panel of relative width ~1e-11.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ._free_cauchy import _NODES, M_NODES, legendre_basis, legendre_coefficients
from ._free_solve import solve_real, t_from_w2

__all__ = ["Table", "build_table"]


@dataclasses.dataclass(frozen=True)
class Table:
    """Panels [a_k, b_k] in s = log x, Legendre coefficients of q(s), cumulative masses."""

    a: np.ndarray
    b: np.ndarray
    coef: np.ndarray
    cum: np.ndarray            # cum[k] = atom at 0 + mass of panels < k  (length K + 1)
    error_bound: float         # sum over panels of h (|c_{m-2}| + |c_{m-1}|)
    xs: np.ndarray             # solved nodes (sorted) and their w_2, for warm starts
    ws: np.ndarray
    unresolved: int            # nodes where Newton did not reach the axis

    @property
    def mass(self) -> float:
        return float(self.cum[-1])

    def _locate(self, x):
        s = np.log(np.maximum(x, np.finfo(float).tiny))
        k = np.clip(np.searchsorted(self.a, s, side="right") - 1, 0, self.a.size - 1)
        c, h = 0.5 * (self.a[k] + self.b[k]), 0.5 * (self.b[k] - self.a[k])
        return k, np.clip((s - c) / h, -1.0, 1.0), h

    def _partial(self, k, u, h):
        """Integral of the panel interpolant from its left end to u."""
        p = legendre_basis(u, M_NODES + 1)
        ints = np.empty(u.shape + (M_NODES,))
        ints[..., 0] = u + 1.0
        n = np.arange(1, M_NODES)
        ints[..., 1:] = (p[..., 2:] - p[..., :-2]) / (2 * n + 1)
        return h * np.sum(self.coef[k] * ints, axis=-1)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        k, u, h = self._locate(x)
        out = self.cum[k] + self._partial(k, u, h)
        out = np.where(x < np.exp(self.a[0]), self.cum[0], out)
        out = np.where(x >= np.exp(self.b[-1]), self.cum[-1], out)
        return np.clip(np.where(x < 0, 0.0, out), 0.0, 1.0)

    def sf(self, x):
        x = np.asarray(x, dtype=float)
        k, u, h = self._locate(x)
        panel = 2.0 * h * self.coef[k, 0]
        out = (self.cum[-1] - self.cum[k + 1]) + (panel - self._partial(k, u, h))
        out = np.where(x < np.exp(self.a[0]), self.cum[-1] - self.cum[0], out)
        out = np.where(x >= np.exp(self.b[-1]), 0.0, out)
        return np.clip(np.where(x < 0, 1.0, out), 0.0, 1.0)

    def ppf(self, q):
        """Inverse of :meth:`cdf` by bisection inside the panel (q in [0, 1])."""
        q = np.asarray(q, dtype=float)
        k = np.clip(np.searchsorted(self.cum, q, side="right") - 1, 0, self.a.size - 1)
        h = 0.5 * (self.b[k] - self.a[k])
        lo, hi = -np.ones(q.shape), np.ones(q.shape)
        for _ in range(56):
            mid = 0.5 * (lo + hi)
            below = self.cum[k] + self._partial(k, mid, h) < q
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        x = np.exp(0.5 * (self.a[k] + self.b[k]) + h * 0.5 * (lo + hi))
        return np.where(q <= self.cum[0], 0.0, x)


def _density_s(tr1, tr2, x, known):
    """q = x p(x) = -Im(w_2 G_2(w_2)) / pi at sorted x, warm-started from ``known``."""
    w2, y = solve_real(tr1, tr2, x, known=known)
    return -t_from_w2(tr2, w2).imag / np.pi, w2, y


def build_table(tr1, tr2, atom0, x_lo, x_hi, exact_lo, exact_hi, *, tol=1e-12, tail=1e-17,
                max_panels=3000):
    """Adaptive panels over [x_lo, x_hi], extended outward (unless the end is exact) until the
    end panel carries less than ``tail`` mass."""
    s_lo, s_hi = np.log(x_lo), np.log(x_hi)
    n0 = int(np.clip(np.ceil((s_hi - s_lo) / 0.5), 8, 200))
    edges = np.linspace(s_lo, s_hi, n0 + 1)
    pending = [(edges[:-1], edges[1:])]
    done, xs, ws = [], np.empty(0), np.empty(0, dtype=complex)
    unresolved, count = 0, 0
    for _ in range(400):
        if not pending:
            lo_ext, hi_ext = _extensions(done, exact_lo, exact_hi, tail)
            if not (lo_ext or hi_ext):
                break
            pending = lo_ext + hi_ext
        ta = np.concatenate([p[0] for p in pending])
        tb = np.concatenate([p[1] for p in pending])
        c, h = 0.5 * (ta + tb), 0.5 * (tb - ta)
        xn = np.exp(c[:, None] + h[:, None] * _NODES[None, :]).ravel()
        order = np.argsort(xn)
        known = (xs, ws) if xs.size >= 2 else None
        qv, w2, y = _density_s(tr1, tr2, xn[order], known)
        unresolved += int(np.count_nonzero(y > 0))
        vals = np.empty_like(qv)
        vals[order] = qv
        vals = vals.reshape(c.size, M_NODES)
        xs, ws = _merge(xs, ws, xn[order], w2)
        coef = legendre_coefficients(vals)
        resid = np.abs(coef[:, -1]) + np.abs(coef[:, -2])
        scale = np.max(np.abs(vals), axis=1)
        ok = (resid <= tol * scale) | (h * resid <= tail) | (h <= 1e-13 * np.abs(c) + 1e-300)
        count += np.count_nonzero(ok)
        if count + 2 * np.count_nonzero(~ok) > max_panels:
            ok[:] = True
        done.append((ta[ok], tb[ok], coef[ok], h[ok] * resid[ok]))
        pending = [(ta[~ok], c[~ok]), (c[~ok], tb[~ok])] if np.any(~ok) else []
    a, b, coef, err = (np.concatenate(v) for v in zip(*done))
    order = np.argsort(a)
    a, b, coef, err = a[order], b[order], coef[order], err[order]
    mass = 2.0 * 0.5 * (b - a) * coef[:, 0]
    cum = atom0 + np.concatenate([[0.0], np.cumsum(mass)])
    return Table(a, b, coef, cum, float(np.sum(err)), xs, ws, unresolved)


def _merge(xs, ws, xn, wn):
    x = np.concatenate([xs, xn])
    w = np.concatenate([ws, wn])
    order = np.argsort(x)
    return x[order], w[order]


def _extensions(done, exact_lo, exact_hi, tail):
    """New panels beyond the ends whose end panel still carries more than ``tail`` mass."""
    a = np.concatenate([d[0] for d in done])
    b = np.concatenate([d[1] for d in done])
    coef = np.concatenate([d[2] for d in done])
    mass = (b - a) * coef[:, 0]
    lo_ext, hi_ext = [], []
    i, j = np.argmin(a), np.argmax(b)
    if not exact_lo and abs(mass[i]) > tail and a[i] > np.log(1e-300):
        w = 2.0 * (b[i] - a[i])
        lo_ext = [(np.array([a[i] - w]), np.array([a[i]]))]
    if not exact_hi and abs(mass[j]) > tail and b[j] < np.log(1e300):
        w = 2.0 * (b[j] - a[j])
        hi_ext = [(np.array([b[j]]), np.array([b[j] + w]))]
    return lo_ext, hi_ext
