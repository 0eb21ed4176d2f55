"""The compiled (numba) Taylor walk and series of the Kummer tables; imported on first use
by :func:`htmp.laws._kummer_jit.load` (see there), never at ``import htmp``.  The
evaluation of a built table and the profile likelihood's kernels are in
:mod:`._kummer_numba_eval`, re-exported here.

Each function mirrors its pure-Python reference in ``_kummer.py`` / ``_kummer_series.py``
operation for operation (tests compare the tables both build).
"""
from __future__ import annotations

import cmath
import math

import numba
import numpy as np

from ._kummer import _RHO, _TERM_CAP, _X_FLOOR
from ._kummer_numba_eval import (  # noqa: F401 - the table evaluation, re-exported for load()
    _series, derivative_sums, logpdf_derivatives, newton_scale, series_at)
from ._kummer_series import _KMAX

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _taylor(z0, r0, c, alpha, h):
    u = h / z0
    b_prev = 1.0 + 0.0j
    b_cur = r0 * z0
    w1 = b_prev + b_cur * u
    dsum = b_cur
    uk = u
    max_term = max(1.0, abs(b_cur * u))
    zma = z0 - alpha
    cz = c * z0
    small = 0
    for k in range(_KMAX):
        b_next = -((k + 1) * (k + zma) * b_cur + (k * z0 + cz) * b_prev) * (1.0 / ((k + 2) * (k + 1)))  # noqa: E501
        term_d = (k + 2) * b_next * uk
        uk *= u
        term = b_next * uk
        w1 += term
        dsum += term_d
        at = abs(term)
        if at > max_term:
            max_term = at
        if at < 1e-18 * (k + 3) * max_term and at < 1e-18 * abs(w1) \
                and abs(term_d * u) < 1e-18 * abs(w1):
            small += 1
            if small >= 3:
                return w1, dsum / z0, max_term, True
        else:
            small = 0
        b_prev = b_cur
        b_cur = b_next
    return w1, dsum / z0, max_term, False

@_jit
def _neumaier(hi, lo, d):
    s = hi + d
    big, sm, tot = hi.real, d.real, s.real
    cr = (big - tot) + sm if abs(big) >= abs(sm) else (sm - tot) + big
    big, sm, tot = hi.imag, d.imag, s.imag
    ci = (big - tot) + sm if abs(big) >= abs(sm) else (sm - tot) + big
    return s, lo + complex(cr, ci)

@_jit
def _step(z0, r0, step_len, direction, max_len, c, alpha, phase_cap):
    """One accepted step; returns (z, r, dlog, length, ok) as the Python walker's."""
    length = min(max_len, _RHO * abs(z0))
    if step_len > 0.0:
        length = min(length, 2.0 * step_len)
    ar = abs(r0)
    if ar > 0 and ar * length > 2.0:
        length = 2.0 / ar
    for _ in range(200):
        h = direction * length
        w1, dw1, max_term, ok = _taylor(z0, r0, c, alpha, h)
        if ok and max_term <= _TERM_CAP and w1 != 0:
            dlog = cmath.log(w1)
            if abs(dlog.imag) <= phase_cap:
                z = z0 + h
                if direction.imag == 0:
                    z = complex(z.real, 0.0)
                return z, dw1 / w1, dlog, length, True
        length *= 0.5
    return z0, r0, 0j, length, False

@_jit
def _real_walk(x_m, L_hi, L_lo, r, direction, c, alpha, phase_cap, base, log_tail,
               log_underflow, x_frob, right):
    cap = 256
    xs = np.empty(cap)
    Ls = np.empty(cap, dtype=np.complex128)
    rs = np.empty(cap, dtype=np.complex128)
    n = 0
    z = complex(x_m, 0.0)
    step_len = -1.0
    lg1p = math.log1p(alpha)
    while True:
        z, r, dlog, step_len, ok = _step(z, r, step_len, complex(direction, 0.0), math.inf,
                                         c, alpha, phase_cap)
        if not ok:
            return xs[:n], Ls[:n], rs[:n], False
        L_hi, L_lo = _neumaier(L_hi, L_lo, dlog)
        if n == cap:
            cap *= 2
            xs2 = np.empty(cap)
            Ls2 = np.empty(cap, dtype=np.complex128)
            rs2 = np.empty(cap, dtype=np.complex128)
            xs2[:n] = xs[:n]
            Ls2[:n] = Ls[:n]
            rs2[:n] = rs[:n]
            xs, Ls, rs = xs2, Ls2, rs2
        L = L_hi + L_lo
        x = z.real
        xs[n] = x
        Ls[n] = L
        rs[n] = r
        n += 1
        lft = alpha * math.log(x) - x - 2.0 * L.real
        if right:
            if lft + math.log(x) < base - log_underflow or x > 1e300:
                return xs[:n], Ls[:n], rs[:n], True
        else:
            if x < _X_FLOOR:
                return xs[:n], Ls[:n], rs[:n], True
            mass = lft + math.log(x) - lg1p
            if x < x_frob and mass > base - 7.0:
                return xs[:n], Ls[:n], rs[:n], True
            if mass < base - log_tail:
                return xs[:n], Ls[:n], rs[:n], True

@_jit
def walk(alpha, c, z_anchor, r_anchor, phase_cap, log_tail, log_underflow, x_frob):
    """(x0, L, r, ref, ok): the centres of a table, log w and w'/w there, and the index
    of the bulk centre x_m; ok False if a step stalled (non-finite state)."""
    x_m = alpha + c + 1.0
    z = z_anchor
    r = r_anchor
    L_hi = 0j
    L_lo = 0j
    step_len = -1.0
    while z.imag > 0:
        z, r, dlog, step_len, ok = _step(z, r, step_len, -1j, z.imag, c, alpha, phase_cap)
        if not ok:
            return np.empty(0), np.empty(0, dtype=np.complex128), \
                np.empty(0, dtype=np.complex128), 0, False
        L_hi, L_lo = _neumaier(L_hi, L_lo, dlog)
        if z.imag < 1e-300:
            z = complex(x_m, 0.0)
    L = L_hi + L_lo
    base = alpha * math.log(x_m) - x_m - 2.0 * L.real + math.log(x_m)
    xr, Lr, rr, ok_r = _real_walk(x_m, L_hi, L_lo, r, 1.0, c, alpha, phase_cap, base,
                                  log_tail, log_underflow, x_frob, True)
    xl, Ll, rl, ok_l = _real_walk(x_m, L_hi, L_lo, r, -1.0, c, alpha, phase_cap, base,
                                  log_tail, log_underflow, x_frob, False)
    nl, nr = len(xl), len(xr)
    n = nl + 1 + nr
    x0 = np.empty(n)
    Ls = np.empty(n, dtype=np.complex128)
    rs = np.empty(n, dtype=np.complex128)
    for i in range(nl):
        x0[i] = xl[nl - 1 - i]
        Ls[i] = Ll[nl - 1 - i]
        rs[i] = rl[nl - 1 - i]
    x0[nl] = x_m
    Ls[nl] = L
    rs[nl] = r
    x0[nl + 1:] = xr
    Ls[nl + 1:] = Lr
    rs[nl + 1:] = rr
    return x0, Ls, rs, nl, ok_r and ok_l

@_jit
def coefficients(x0, r0, c, alpha, n, rad, tol):
    """As ``_kummer_series._coefficients`` with ``rad`` given: (n_centres, K) array."""
    m = len(x0)
    b = np.empty((n, m), dtype=np.complex128)
    for i in range(m):
        b[0, i] = 1.0
        b[1, i] = r0[i] * x0[i]
    p1 = x0 - alpha
    p0 = c * x0
    for k in range(n - 2):
        den = (k + 2) * (k + 1)
        for i in range(m):
            b[k + 2, i] = -((k + 1) * (k + p1[i]) * b[k + 1, i]
                            + (k * x0[i] + p0[i]) * b[k, i]) / den
        if k % 8 == 7:
            top = k + 3
            done = True
            for kk in range(top - 4, top):
                for i in range(m):
                    if abs(b[kk, i]) * rad[i] ** kk > tol:
                        done = False
                        break
                if not done:
                    break
            if done:
                return np.ascontiguousarray(b[:top].T)
    return np.ascontiguousarray(b.T)
@_jit
def jacobi_fraction(alpha, c, z, n_terms):
    """As ``_kummer._jacobi_fraction``."""
    n = n_terms
    d = z - (2 * n + 2 * c + alpha + 1)
    a2 = (n + c) * (n + c + alpha)
    root = cmath.sqrt(d * d - 4 * a2)
    t = (d - root) / 2 if abs(d - root) < abs(d + root) else (d + root) / 2
    for n in range(n_terms, 0, -1):
        t = (n + c) * (n + c + alpha) / (z - (2 * n + 2 * c + alpha + 1) - t)
    return 1.0 / (z - (alpha + c + 1) - t)

@_jit
def _row_keep(ell_row, k, alpha, x0i, radi, scale):
    """1 + the largest index <= k of a log-f / phase term of one centre that matters
    within its radius (2 if none): ``_kummer_series._needed`` for one row."""
    for kk in range(k, -1, -1):
        l1 = 0.0 if kk == 0 else (1.0 if kk % 2 == 1 else -1.0) / kk
        radk = radi ** kk
        lco = alpha * l1 - 2.0 * ell_row[kk].real
        if kk == 1:
            lco -= x0i
        if abs(lco) * radk > 1e-17 * scale or abs(ell_row[kk].imag) * radk > 1e-18:
            return kk + 1
    return 2


@_jit
def log_series(coef, x0, alpha, reach):
    """``_kummer_series._log_series`` with each centre's series stopped on its own: the
    Python reference runs every centre as long as the slowest; here a centre stops 4
    terms after the last one it needs (checked every 8), and the terms it did not
    compute are 0 (each below 1e-17 (1 + |alpha|) at its farthest point, as there).
    Same values to ~1e-17 relative; the cost is sum_i K_i^2 instead of n max_i K_i^2."""
    n, K = coef.shape
    K2 = min(2 * K, _KMAX)
    ell = np.zeros((n, K2), dtype=np.complex128)
    m = np.zeros(K2, dtype=np.complex128)
    rad = reach / x0
    scale = 1.0 + abs(alpha)
    keep = 2
    for i in range(n):
        m[:] = 0j
        for k in range(1, K2):
            conv = 0j
            for j in range(max(1, k - K + 1), k):     # b_{k-j} = 0 beyond the K stored
                conv += m[j] * coef[i, k - j]
            bk = coef[i, k] if k < K else 0j
            ell[i, k] = bk - conv / k
            m[k] = k * ell[i, k]
            if k % 8 == 0 or k == K2 - 1:
                keep_i = _row_keep(ell[i], k, alpha, x0[i], rad[i], scale)
                if k + 1 - keep_i >= 4:
                    break
        keep = max(keep, keep_i)
    lco = np.empty((n, keep))
    pco = np.empty((n, keep))
    for i in range(n):
        for kk in range(keep):
            l1 = 0.0 if kk == 0 else (1.0 if kk % 2 == 1 else -1.0) / kk
            lco[i, kk] = alpha * l1 - 2.0 * ell[i, kk].real
            pco[i, kk] = ell[i, kk].imag
        if keep > 1:
            lco[i, 1] -= x0[i]
    return lco, pco


@_jit
def unconverged_gaps(x0, lcoef, pcoef, logf0, theta0, tol):
    """As ``_kummer._unconverged_gaps``: the gaps where both ends' series disagree."""
    out = []
    for i in range(len(x0) - 1):
        mid = 0.5 * (x0[i] + x0[i + 1])
        vl = logf0[i] + _series(lcoef[i], x0[i], mid)
        vr = logf0[i + 1] + _series(lcoef[i + 1], x0[i + 1], mid)
        bad = not (abs(vl - vr) <= tol * (1.0 + abs(vl)))
        pl = theta0[i] + _series(pcoef[i], x0[i], mid)
        pr = theta0[i + 1] + _series(pcoef[i + 1], x0[i + 1], mid)
        bad = bad or not (abs(pl - pr) <= tol * (1.0 + abs(pl)))
        if bad:
            out.append(i)
    res = np.empty(len(out), dtype=np.int64)
    for t in range(len(out)):
        res[t] = out[t]
    return res


@_jit
def finish(alpha, c, x0, Ls, rs, ref):
    """``_kummer._finish_table``'s arithmetic in one call: (logf0, theta0, L_min, coef,
    lcoef, pcoef) - the normalisation from the Wronskian at centre ``ref``, the absolute
    log w and phase, and each centre's series (as many terms as half the gap to either
    neighbour needs)."""
    n = len(x0)
    logf_ref = math.log(rs[ref].imag / (math.pi * c))
    logf0 = np.empty(n)
    for i in range(n):
        logf0[i] = (logf_ref + alpha * math.log(x0[i] / x0[ref]) - (x0[i] - x0[ref])
                    - 2.0 * (Ls[i] - Ls[ref]).real)
    log_w_ref = 0.5 * (alpha * math.log(x0[ref]) - x0[ref] - math.lgamma(c + 1.0)
                       - math.lgamma(c + alpha + 1.0) - logf_ref)
    theta0 = np.empty(n)
    for i in range(n):
        theta0[i] = Ls[i].imag - Ls[n - 1].imag + math.pi * c
    L_min = complex(Ls[0].real - Ls[ref].real + log_w_ref, theta0[0])
    reach = np.empty(n)
    for i in range(n):
        left = x0[1] - x0[0] if i == 0 else x0[i] - x0[i - 1]
        right = x0[n - 1] - x0[n - 2] if i == n - 1 else x0[i + 1] - x0[i]
        reach[i] = max(left, right) * 0.5
    rad = reach / x0
    allcoef = coefficients(x0, rs, c, alpha, _KMAX, rad, 1e-18)
    top = 0
    for k in range(allcoef.shape[1]):
        for i in range(n):
            if abs(allcoef[i, k]) * rad[i] ** k > 1e-18:
                top = k
                break
    K = max(8, min(top + 2, _KMAX))
    coef = np.ascontiguousarray(allcoef[:, :K])
    lcoef, pcoef = log_series(coef, x0, alpha, reach)
    return logf0, theta0, L_min, coef, lcoef, pcoef
