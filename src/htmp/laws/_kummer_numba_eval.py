"""The compiled (numba) evaluation of a built Kummer table: its stored series of log f and
the phase, their derivatives, and the profile likelihood's kernels (the sums of a Newton
step in log-scale, the whole Newton loop).  Imported with :mod:`._kummer_numba` (which
re-exports these) on first use, never at ``import htmp``; each function mirrors its numpy
counterpart in ``KummerTable`` / ``Profile`` (tests compare them).
"""
from __future__ import annotations

import cmath
import math

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _series(row, x0j, x):
    u = (x - x0j) / x0j
    K = len(row)
    acc = row[K - 1]
    for k in range(K - 2, 0, -1):
        acc = acc * u + row[k]
    return acc * u


@_jit
def _derivatives_at(x0, lcoef, logf0, jj, x):
    """(log f, x (log f)', x^2 (log f)'') at x from centre jj: Horner with derivatives."""
    c0 = x0[jj]
    u = (x - c0) / c0
    p = 0.0
    dp = 0.0
    hp = 0.0
    for k in range(lcoef.shape[1] - 1, -1, -1):
        hp = hp * u + dp
        dp = dp * u + p
        p = p * u + lcoef[jj, k]
    one_u = 1.0 + u
    return logf0[jj] + p, one_u * dp, 2.0 * one_u * one_u * hp


@_jit
def logpdf_derivatives(x0, mids, lcoef, logf0, x):
    """As ``KummerTable.logpdf_derivatives`` for x inside the table: (log f, x (log f)',
    x^2 (log f)'') by Horner with derivatives from the nearest centre."""
    j = np.searchsorted(mids, x)
    n = len(x)
    lf = np.empty(n)
    d1 = np.empty(n)
    d2 = np.empty(n)
    for i in range(n):
        lf[i], d1[i], d2[i] = _derivatives_at(x0, lcoef, logf0, j[i], x[i])
    return lf, d1, d2


@_jit
def series_at(coef, base, x0, mids, x):
    """base[j] + sum_{k>=1} coef[j, k] u^k from the nearest centre j (log f or the phase)."""
    j = np.searchsorted(mids, x)
    out = np.empty(len(x))
    for i in range(len(x)):
        jj = j[i]
        out[i] = base[jj] + _series(coef[jj], x0[jj], x[i])
    return out


@_jit
def derivative_sums(x0, mids, lcoef, logf0, z, e):
    """(sum log f, sum x (log f)', sum x (log f)' + x^2 (log f)'') over x = z e, all inside
    the table: what a Newton step of a profile likelihood in log-scale needs, without the
    three arrays of :func:`logpdf_derivatives`."""
    s0 = 0.0
    s1 = 0.0
    s12 = 0.0
    for i in range(len(z)):
        x = z[i] * e
        lf, d1, d2 = _derivatives_at(x0, lcoef, logf0, np.searchsorted(mids, x), x)
        s0 += lf
        s1 += d1
        s12 += d1 + d2
    return s0, s1, s12


@_jit
def _left_tail(x, x_lo, logf_lo, alpha, lr_re, lr_im):
    """(log f, x (log f)', x^2 (log f)'') left of the table: ``KummerTable._logpdf_left``
    (log f = log f(x_lo) + alpha log(x / x_lo) - (x - x_lo) - log|q|^2, q the two-term
    Frobenius form w(x)/w(x_lo) = r + (1 - r) t, t = (x / x_lo)^m, m = min(1, 1 + alpha),
    r = e^(lr); its interpolation -2 Re(lr) (t - 1) where |Re lr| >= 50 or q vanishes),
    differentiated in s = log x: x (log f)' = alpha - x - Q', x^2 (log f)'' = Q' - Q'' - alpha."""
    m = min(1.0, 1.0 + alpha)
    t = math.exp((math.log(x) - math.log(x_lo)) * m)
    Q = math.nan
    if abs(lr_re) < 50.0:
        r = cmath.exp(complex(lr_re, lr_im))
        q = r + (1.0 - r) * t
        aq = q.real * q.real + q.imag * q.imag
        if aq > 0.0 and math.isfinite(aq):
            Q = math.log(aq)
            dq = (1.0 - r) * m * t / q
            Q1 = 2.0 * dq.real
            Q2 = 2.0 * (dq * m - dq * dq).real     # q''/q = (1 - r) m^2 t / q = m dq
    if not math.isfinite(Q):
        Q = 2.0 * lr_re * (1.0 - t)
        Q1 = -2.0 * lr_re * m * t
        Q2 = -2.0 * lr_re * m * m * t
    lf = logf_lo + alpha * (math.log(x) - math.log(x_lo)) - (x - x_lo) - Q
    return lf, alpha - x - Q1, Q1 - Q2 - alpha


@_jit
def _logf_at(x0, mids, lcoef, logf0, alpha, a2c, lr_re, lr_im, x):
    """(log f, x (log f)', x^2 (log f)'') anywhere: the series inside the table,
    ``KummerTable.logpdf``'s tail forms outside it (right: log f(x_end) + (alpha + 2c)
    log(x / x_end) - (x - x_end); left: :func:`_left_tail`)."""
    x_end = x0[len(x0) - 1]
    if x > x_end:
        return (logf0[len(x0) - 1] + a2c * math.log(x / x_end) - (x - x_end), a2c - x, -a2c)
    if x < x0[0]:
        return _left_tail(x, x0[0], logf0[0], alpha, lr_re, lr_im)
    return _derivatives_at(x0, lcoef, logf0, np.searchsorted(mids, x), x)


@_jit
def newton_scale(x0, mids, lcoef, logf0, pcoef, theta0, alpha, c, z, z_lo, z_hi, zc, w_cut,
                 inverse, t, lo, hi, tol, p_floor, max_iter, beyond, lr_re, lr_im):
    """Newton on a profile likelihood's log-scale t, as ``Profile._newton`` does it with one
    table and at most the upper cut (no censoring): g(t) = sum log f(z e^t) + n t +
    w_cut log P(cut), P from the phase (F, or 1 - F when ``inverse``); zc = nan: no cut.
    ``beyond``: points outside the table take ``KummerTable.logpdf``'s tail forms
    (:func:`_logf_at`; for a full table, whose ends are far in the tails; lr =
    log(Gamma(1 + alpha) / Gamma(c + alpha + 1)) - L_min); otherwise they hand back.  A cut
    right of the table has P = F = 1 and the right tail form, as
    ``Profile._boundary_terms`` has it (inverse: hands back).
    Returns (1, t, g) once a step is below ``tol``; (0, t, 0) when it fails (g'' >= 0, a
    value not finite, a step leaving (lo, hi), max_iter steps); (2, t, 0) when a point or
    the cut leaves the table (the caller's general path takes over)."""
    n = len(z)
    pic = math.pi * c
    a2c = alpha + 2.0 * c
    x_end = x0[len(x0) - 1]
    for _ in range(max_iter):
        e = math.exp(t)
        if (z_lo * e < x0[0] or z_hi * e > x_end) and not beyond:
            return 2, t, 0.0
        s0 = 0.0
        s1 = 0.0
        s12 = 0.0
        for i in range(n):
            lf, d1, d2 = _logf_at(x0, mids, lcoef, logf0, alpha, a2c, lr_re, lr_im, z[i] * e)
            s0 += lf
            s1 += d1
            s12 += d1 + d2
        bv = 0.0
        b1 = 0.0
        b2 = 0.0
        if not math.isnan(zc):
            xc = zc * e
            if xc < x0[0] or (xc > x_end and inverse):
                return 2, t, 0.0
            lf, d1, _ = _logf_at(x0, mids, lcoef, logf0, alpha, a2c, lr_re, lr_im, xc)
            logp = 0.0                       # P(Y <= cut) = 1 right of the table
            if xc <= x_end:
                jj = np.searchsorted(mids, xc)
                F = (theta0[jj] + _series(pcoef[jj], x0[jj], xc)) / pic
                logp = math.log(max(1.0 - F if inverse else F, p_floor))
            q = math.exp(math.log(xc) + lf - logp)
            if inverse:
                h1 = -q
                h2 = -q * (1.0 + d1 + q)
            else:
                h1 = q
                h2 = q * (1.0 + d1 - q)
            bv = w_cut * logp
            b1 = w_cut * h1
            b2 = w_cut * h2
        g1 = s1 + n + b1
        g2 = s12 + b2
        if not (g2 < 0.0 and math.isfinite(g1) and math.isfinite(bv)):
            return 0, t, 0.0
        step = -g1 / g2
        if abs(step) < tol:
            return 1, t + step, s0 + n * t + bv - 0.5 * g1 * g1 / g2
        if not (lo < t + step < hi):
            return 0, t, 0.0
        t += step
    return 0, t, 0.0
