"""The Taylor series a Kummer table stores about each centre (built by
:func:`htmp.laws._kummer.build_table`).

:func:`_coefficients` gives the scaled Taylor coefficients of w/w(x0) from the three-term
recurrence of Kummer's equation; :func:`_log_series` turns them into the real series of
log f and of arg w that the table evaluates.  Both stop a few terms after the last one the
farthest evaluation point needs.
"""
from __future__ import annotations

import numpy as np

_KMAX = 90               # most Taylor terms (per walk step and per stored series)


def _coefficients(x0: np.ndarray, r0: np.ndarray, c: float, alpha: float, n: int,
                  rad: np.ndarray | None = None, tol: float = 1e-18) -> np.ndarray:
    """Scaled Taylor coefficients b_k = a_k x0^k of w/w(x0) about real centres x0: the first
    ``n``, or with ``rad`` (the farthest |u| each centre is evaluated at) as many as needed:
    the recurrence stops once |b_k| rad^k <= ``tol`` at every centre for 4 k in a row (the
    terms of a convergent series at |u| <= rad < 1 then keep falling).

    In the scaled variable u = (x - x0)/x0 the radius of convergence is 1, so the
    b_k neither overflow nor underflow however small x0 is.  Vectorised over the centres
    (the recurrence in k is sequential).
    """
    x0 = np.asarray(x0, dtype=float)
    b = np.empty((n,) + x0.shape, dtype=complex)      # k first: each step writes one row
    b[0] = 1.0
    b[1] = np.asarray(r0) * x0
    p1, p0 = x0 - alpha, c * x0
    for k in range(n - 2):
        b[k + 2] = -((k + 1) * (k + p1) * b[k + 1] + (k * x0 + p0) * b[k]) / ((k + 2) * (k + 1))
        if rad is not None and k % 8 == 7:          # check in blocks of 8 (numpy calls cost)
            top = k + 3
            with np.errstate(under="ignore"):
                mags = np.abs(b[top - 8:top]) * rad ** np.arange(top - 8, top)[:, None]
            small = np.all(mags <= tol, axis=1)
            if small[-4:].all():
                return np.ascontiguousarray(b[:top].T)
    return np.ascontiguousarray(b.T)


def _log_series(coef: np.ndarray, x0: np.ndarray, alpha: float, reach: np.ndarray):
    """Real Taylor series (in u) of log f and of arg w about every centre.

    log w(x0(1+u)) - log w(x0) = sum_k l_k u^k is the series logarithm of the scaled
    coefficients b (b_0 = 1): l_k = b_k - (1/k) sum_{j<k} j l_j b_{k-j}.  Then
    log f = alpha log1p(u) - x0 u - 2 Re(l) and arg w = Im(l): two real polynomials, so the
    hot path is one real Horner scheme and no complex logarithm.
    """
    n, K = coef.shape
    K2 = min(2 * K, _KMAX)
    b = np.zeros((n, K2), dtype=complex)
    b[:, :K] = coef
    ell = np.zeros((n, K2), dtype=complex)
    m = np.zeros((n, K2), dtype=complex)         # m_j = j l_j
    br = b[:, ::-1]                              # b_{k-j}, j = 1..k-1, is br[:, K2-k:K2-1]
    kk = np.arange(K2)
    log1p = np.zeros(K2)
    log1p[1:] = (-1.0) ** (kk[1:] + 1) / kk[1:]
    rad = reach / x0
    scale = 1.0 + np.abs(alpha)
    # keep as many terms as the farthest evaluation point needs; the recurrence stops once 4
    # terms in a row after the last needed one are not needed (the terms of the convergent
    # series at |u| <= rad < 1 keep falling), checked in blocks of 8 (numpy calls cost)
    keep, top = 2, K2
    for k in range(1, K2):
        conv = np.einsum("ij,ij->i", m[:, 1:k], br[:, K2 - k:K2 - 1]) if k > 1 else 0.0
        ell[:, k] = b[:, k] - conv / k
        m[:, k] = k * ell[:, k]
        if k % 8 == 0 or k == K2 - 1:
            need = _needed(ell[:, :k + 1], log1p[:k + 1], alpha, x0, rad, scale)
            keep = int(need.max()) + 1 if need.size else 2
            if k + 1 - keep >= 4:
                top = k + 1
                break
    ell = ell[:, :top]
    lco = alpha * log1p[None, :keep] - 2.0 * ell[:, :keep].real
    lco[:, 1] -= x0
    pco = ell[:, :keep].imag.copy()
    return lco[:, :keep], pco[:, :keep]


def _needed(ell, log1p, alpha, x0, rad, scale):
    """Indices k of the log-f / phase series terms that matter somewhere within rad."""
    kk = np.arange(ell.shape[1])
    with np.errstate(under="ignore"):
        radk = rad[:, None] ** kk[None, :]
    lco = alpha * log1p[None, :] - 2.0 * ell.real
    lco[:, 1] -= x0
    return np.nonzero(np.any(np.abs(lco) * radk > 1e-17 * scale, axis=0)
                      | np.any(np.abs(ell.imag) * radk > 1e-18, axis=0))[0]
