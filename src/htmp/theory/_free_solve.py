"""The subordination equations of mu_1 [x] mu_2 (Belinschi-Bercovici), solved by Newton's
method down to the real axis.

In the variable zeta of G(zeta) = E[1/(zeta - X)] (MATH.md §7 with w = 1/omega, zeta = 1/z):
with T_j(w) = w G_j(w) - 1 and F_j = G_j / T_j, the subordination functions w_1, w_2 of the
upper half plane solve

    w_1 = zeta F_2(w_2),   w_2 = zeta F_1(w_1),

and then G(zeta) = w_2 G_2(w_2) / zeta (= w_1 G_1(w_1) / zeta).  Newton acts on the single
unknown w_2, Phi(w_2) = w_2 - zeta F_1(zeta F_2(w_2)).  A point zeta = x + i y is reached from
y0 ~ |zeta| (where the asymptotic w_2 ~ zeta / E[mu_1] is a good start) down a ladder
y -> y_target + (y - y_target) r, with r enlarged where Newton fails; at y = 0 this solves the
equations on the real axis itself, with no smoothing.
"""
from __future__ import annotations

import numpy as np

__all__ = ["solve", "solve_real", "g_from_w2", "t_from_w2"]

_TOL = 1e-13            # Newton stops when the step is below this, relative to |w_2|


def _f_df(tr, w):
    """F = G/T = (1 + T)/(w T) and F' = -(T (1 + T) + w T') / (w T)^2 of one transform."""
    t, dt = tr.t_dt(w)
    wt = w * t
    return (1.0 + t) / wt, -(t * (1.0 + t) + w * dt) / (wt * wt)


def _newton(tr1, tr2, zeta, w2, maxit):
    """Newton on Phi(w2) = w2 - zeta F1(zeta F2(w2)), kept in the closed upper half plane.

    Returns (w2, converged).  A point that leaves the half plane, produces a non-finite
    value or does not converge within ``maxit`` steps is reported as not converged.
    """
    w2 = w2.astype(complex).copy()
    ok = np.zeros(w2.shape, dtype=bool)
    active = np.arange(w2.size)
    prev = np.full(w2.shape, np.inf)
    with np.errstate(all="ignore"):       # a diverging point turns non-finite: not converged
        for _ in range(maxit):
            if active.size == 0:
                break
            active = _newton_step(tr1, tr2, zeta, w2, ok, prev, active)
    return w2, ok


def _newton_step(tr1, tr2, zeta, w2, ok, prev, active):
    """One Newton step on the ``active`` points (updates w2, ok, prev in place); returns the
    points still active."""
    z, v = zeta[active], w2[active]
    f2, df2 = _f_df(tr2, v)
    w1 = z * f2
    f1, df1 = _f_df(tr1, w1)
    step = (v - z * f1) / (1.0 - z * z * df1 * df2)
    # damped so that w2 stays above the axis (the solution lies in the upper half plane);
    # a real-axis solution that rounding pushes below the axis is clipped to it
    lam = np.where(step.imag > v.imag, np.clip(0.9 * v.imag / step.imag, 0.0, 1.0), 1.0)
    lam = np.where(v.imag > 1e-12 * np.abs(v), lam, 1.0)
    new = v - lam * step
    new = new.real + 1j * np.maximum(new.imag, 0.0)
    good = np.isfinite(new)
    w2[active] = np.where(good, new, v)
    # converged: the step is at rounding level, or it is small and Newton is in its
    # quadratic phase (the step fell 1000-fold), so the error left is ~ step^2
    rel = np.abs(step) / np.abs(new)
    quad = (rel <= 1e-7) & (rel <= 1e-3 * prev[active])
    done = good & (lam == 1.0) & ((rel <= _TOL) | quad) & (w1.imag >= -1e-9 * np.abs(w1))
    prev[active] = rel
    ok[active[done]] = True
    return active[good & ~done]


def solve(tr1, tr2, zeta, y_top=None, max_rungs=200):
    """w_2(zeta) for zeta in the closed upper half plane (flat arrays).

    Returns (w2, y_reached): y_reached is Im zeta where the ladder arrived, else the lowest
    height at which Newton still converged (the value there is then returned).
    """
    zeta = np.asarray(zeta, dtype=complex).ravel()
    x, yt = zeta.real, np.maximum(zeta.imag, 0.0)
    m1, m2 = tr1.mean, tr2.mean
    scale = max(m1 * m2, np.finfo(float).tiny)
    y = np.maximum(yt, np.abs(x) + scale) if y_top is None else np.maximum(yt, y_top)
    w2, ok = _newton(tr1, tr2, x + 1j * y, (x + 1j * y) / m1, 60)
    if not np.all(ok):          # Newton from the asymptotic guess failed: start far above
        far = ~ok               # both supports, where w2 ~ zeta / E[mu_1] holds
        y[far] = 10.0 * np.maximum(np.abs(x[far]), tr1.reach * tr2.reach) + y[far]
        w2[far], ok[far] = _newton(tr1, tr2, x[far] + 1j * y[far], (x[far] + 1j * y[far]) / m1,
                                   100)
    r = np.full(x.shape, 0.05)
    stuck = ~ok
    for _ in range(max_rungs):
        live = np.nonzero((y > yt) & ~stuck)[0]
        if live.size == 0:
            break
        y_next = yt[live] + (y[live] - yt[live]) * r[live]
        tiny = (y_next - yt[live]) <= 1e-15 * (np.abs(x[live]) + scale)
        y_next = np.where(tiny, yt[live], y_next)
        w_new, conv = _newton(tr1, tr2, x[live] + 1j * y_next, w2[live], 12)
        acc = live[conv]
        w2[acc], y[acc] = w_new[conv], y_next[conv]
        r[acc] = np.maximum(r[acc] ** 1.5, 1e-3)
        rej = live[~conv]
        r[rej] = np.sqrt(r[rej])
        stuck[rej[r[rej] > 0.999]] = True
    return w2, y


def g_from_w2(tr2, zeta, w2):
    """G(zeta) = (1 + T_2(w_2)) / zeta."""
    return (1.0 + t_from_w2(tr2, w2)) / zeta


def t_from_w2(tr2, w2):
    """T(zeta) = zeta G(zeta) - 1 = T_2(w_2), free of cancellation; density x p = -Im T / pi."""
    return tr2.t_dt(w2)[0]


def _newton_from(tr1, tr2, x, xk, wk):
    """Newton on the axis from the solutions ``wk`` at ``xk`` interpolated to ``x``; a root
    with a negative density (a wrong branch) counts as not converged."""
    guess = np.interp(x, xk, wk.real) + 1j * np.interp(x, xk, wk.imag)
    w, conv = _newton(tr1, tr2, x + 0j, guess, 10)
    if np.any(conv):
        t = t_from_w2(tr2, w[conv])
        conv[conv] = t.imag <= 1e-12 * np.abs(1.0 + t)
    return w, conv


def solve_real(tr1, tr2, x, known=None, stride=16):
    """w_2 at real points ``x`` (sorted ascending).

    With ``known = (xk, wk)`` (solutions at sorted points xk) every point starts Newton on the
    axis from the interpolated solution.  Without it, by levels: every ``stride``-th point
    down the ladder, then the points between from their solved neighbours.  A point where
    that fails goes down the ladder.  Returns (w2, y_reached) as :func:`solve`.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    w2 = np.empty(n, dtype=complex)
    y = np.full(n, np.nan)
    if known is not None and len(known[0]) >= 2:
        w2[:], conv = _newton_from(tr1, tr2, x, *known)
        y[conv] = 0.0
        if not np.all(conv):
            w2[~conv], y[~conv] = solve_real(tr1, tr2, x[~conv], stride=stride)
        return w2, y
    solved = np.zeros(n, dtype=bool)
    first = np.zeros(n, dtype=bool)
    first[::stride] = True
    first[-1] = True
    w2[first], y[first] = solve(tr1, tr2, x[first] + 0j)
    solved[first] = True
    step = stride
    while not np.all(solved):
        step = max(step // 2, 1)
        idx = np.nonzero((np.arange(n) % step == 0) & ~solved)[0]
        base = np.nonzero(solved & (y == 0))[0]
        if base.size < 2:
            base = np.nonzero(solved)[0]
        w_new, conv = _newton_from(tr1, tr2, x[idx], x[base], w2[base])
        w2[idx[conv]], y[idx[conv]] = w_new[conv], 0.0
        miss = idx[~conv]
        if miss.size:
            w2[miss], y[miss] = solve(tr1, tr2, x[miss] + 0j)
        solved[idx] = True
    return w2, y
