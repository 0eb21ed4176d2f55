"""Spectra of large symmetric tridiagonal matrices without computing every eigenvalue.

The number of eigenvalues of ``T`` below ``x`` is the number of negative
pivots of the LDL^T factorisation of ``T - x`` (Sylvester's law of inertia;
the Sturm-sequence count)::

    q_0 = d_0 - x,   q_i = d_i - x - e_{i-1}^2 / q_{i-1},   |q_i| < pivmin  ->  q_i = +pivmin

with LAPACK's ``pivmin = tiny * max(1, max e^2)`` safeguard (``dstebz``/``dlaebz``).
LAPACK replaces a tiny pivot by ``-pivmin``, which counts an eigenvalue equal
to x as below it; we use ``+pivmin`` so that the count is exactly
``#{eigenvalues < x}`` at ties, and get ``#{<= x}`` as ``n - #{eig(-T) < -x}``.
The matrix is first scaled by a power of two (exact) so that every entry has
modulus < 1; then no pivot over- or underflows.

Fast path (:func:`sturm_count`).  The recurrence is sequential in ``i``;
a Python loop over ``i`` would cost about a microsecond per row.  We instead
cut the matrix into ``S`` segments of length ``L`` and run the recurrence of
every segment and every shift at once (numpy arrays of shape (2, S, K)):

* Inside a segment the incoming coupling only changes the first pivot, by
  ``u = -e^2 / q_prev``: the segment's pivots are those of
  ``T_seg - x + u e_1 e_1^T``.  Their negative count is ``c_hi + [u < u*]``,
  a rank-one (interlacing) fact, where ``c_hi`` is the count of
  ``T_seg[1:, 1:] - x`` and ``u* = -det(T_seg - x) / det(T_seg[1:, 1:] - x)``.
* The outgoing pivot is the Moebius function
  ``q_out(u) = (u - u*) / (-u*/q_A + u/q_B)`` with ``q_A`` (``q_B``) the last
  pivot of the run started at ``u = 0`` (``u = +inf``).

Phase 1 computes ``q_A, q_B, c_hi`` and ``log|u*|`` (a sum of log-pivots,
so it never overflows) for all segments; phase 2 is a short sequential scan
over the ``S`` segments.  The work is O(n K) with numpy-level vectorisation;
the counts are exact integers and agree with the plain recurrence and with
``scipy.linalg.eigvalsh_tridiagonal`` (tested), up to the usual backward
error of bisection for shifts within ~1e-13 (relative) of an eigenvalue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigvalsh_tridiagonal

from .._validation import check_param, check_positive_int
from ..fitting import FitResult

__all__ = [
    "SpectrumHistogram",
    "sturm_count",
    "tridiagonal_cdf",
    "tridiagonal_histogram",
    "extreme_eigvals",
    "bidiagonal_count",
    "bidiagonal_histogram",
]

_TINY = np.finfo(float).tiny
_CHUNK_ELEMENTS = 1 << 17      # size of the (S, K) work arrays per shift chunk


@dataclass(frozen=True, eq=False)
class SpectrumHistogram(FitResult):
    """Eigenvalue counts in bins ``[edges[j], edges[j+1])`` (the last bin closed).

    Same convention as ``numpy.histogram``.  ``n`` is the matrix size;
    ``n_below``/``n_above`` count the eigenvalues outside the edges.  ``to_dict`` as every
    htmp result (arrays as lists); ``to_frame`` gives one row per bin.
    """

    counts: np.ndarray
    edges: np.ndarray
    n: int
    n_below: int
    n_above: int

    @property
    def density(self) -> np.ndarray:
        """``counts / (n * bin width)``: integrates to the fraction inside the edges."""
        return self.counts / (self.n * np.diff(self.edges))

    @property
    def centers(self) -> np.ndarray:
        """Bin mid-points."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    def to_frame(self):
        """One row per bin (needs pandas)."""
        import pandas as pd

        return pd.DataFrame({"left": self.edges[:-1], "right": self.edges[1:],
                             "count": self.counts, "density": self.density})


def _as_band(main, off, names=("diag", "offdiag")) -> tuple[np.ndarray, np.ndarray]:
    """Check a (main, off-diagonal) pair: 1-D, non-empty, len(off) == len(main) - 1."""
    d = check_param(names[0], main)
    e = check_param(names[1], off)
    if d.ndim != 1 or d.size < 1:
        raise ValueError(f"{names[0]} must be a non-empty 1-D array, got shape {d.shape}")
    if e.shape != (d.size - 1,):
        raise ValueError(f"{names[1]} must have shape ({d.size - 1},) to match {names[0]}, "
                         f"got {e.shape}")
    return d, e


def _as_tridiagonal(diag, offdiag) -> tuple[np.ndarray, np.ndarray]:
    return _as_band(diag, offdiag, ("diag", "offdiag"))


def _as_shifts(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError("x must not contain NaN (accepted: real numbers or +-inf), "
                         f"got NaN at {np.flatnonzero(np.isnan(x.ravel()))[:5].tolist()}")
    return x


def sturm_count(diag, offdiag, x, *, side: str = "left") -> np.ndarray:
    """Exact number of eigenvalues of the symmetric tridiagonal matrix below ``x``.

    Parameters
    ----------
    diag, offdiag : arrays of length n and n-1 (finite).
    x : array of shifts (any shape; +-inf allowed).
    side : ``"left"`` counts eigenvalues ``< x``, ``"right"`` counts ``<= x``
        (as ``numpy.searchsorted`` on the sorted eigenvalues).

    Returns an ``int64`` array of the shape of ``x``.  O(n) memory in the matrix,
    never a dense matrix; see the module docstring for the algorithm.
    """
    d, e = _as_tridiagonal(diag, offdiag)
    x = _as_shifts(x)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    flat = x.ravel()
    if side == "left":
        out = _count_lt(d, e, flat)
    else:                               # #{<= x} = n - #{eig(-T) < -x}
        out = d.size - _count_lt(-d, e, -flat)
    return out.reshape(x.shape)


def _count_lt(d: np.ndarray, e: np.ndarray, x: np.ndarray) -> np.ndarray:
    n = d.size
    big = max(np.abs(d).max(), np.abs(e).max(initial=0.0))
    if big == 0.0:
        return np.where(x > 0.0, n, 0).astype(np.int64)
    scale = math.ldexp(1.0, -math.frexp(big)[1])     # power of two: exact rescaling
    d = d * scale
    e = e * scale
    # every eigenvalue now lies in [-3, 3] (Gershgorin); clipping x keeps counts exact
    xs = np.clip(x * scale, -4.0, 4.0)
    if n == 1:
        return (d[0] < xs).astype(np.int64)
    b2 = e * e
    pivmin = _TINY * max(1.0, b2.max())
    seg = min(n, max(2, int(2.0 * math.sqrt(n))))
    nseg = -(-n // seg)
    pad = nseg * seg - n
    a = np.concatenate([d, np.full(pad, 8.0)]).reshape(nseg, seg)
    bin_ = np.concatenate([[0.0], b2, np.zeros(pad)]).reshape(nseg, seg)
    out = np.empty(xs.size, dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // nseg)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k0 in range(0, xs.size, chunk):
            xk = xs[k0:k0 + chunk]
            phase1 = _segments(a, bin_, xk, pivmin)
            out[k0:k0 + chunk] = _scan(bin_[:, 0], *phase1, pivmin)
    return out


def _fix(q: np.ndarray, pivmin: float) -> None:
    np.copyto(q, pivmin, where=np.abs(q) < pivmin)


def _segments(a, bin_, x, pivmin):
    """Phase 1: per segment and shift, runs started at u = 0 (A) and u = +inf (B)."""
    nseg, seg = a.shape
    qa = a[:, 0, None] - x
    _fix(qa, pivmin)
    na = (qa < 0).astype(np.int64)
    lr = np.log(np.abs(qa))
    c = a[:, 1, None] - x
    qb = c.copy()
    _fix(qb, pivmin)
    nb = (qb < 0).astype(np.int64)
    qa = c - bin_[:, 1, None] / qa
    _fix(qa, pivmin)
    na += qa < 0
    lr += np.log(np.abs(qa)) - np.log(np.abs(qb))
    q = np.stack([qa, qb])
    cnt = np.stack([na, nb])
    tmp = np.empty_like(q)
    mask = np.empty(q.shape, dtype=bool)
    for j in range(2, seg):
        np.subtract(a[:, j, None], x, out=c)
        np.divide(bin_[:, j, None], q, out=tmp)
        np.subtract(c, tmp, out=q)
        np.abs(q, out=tmp)
        np.less(tmp, pivmin, out=mask)
        np.copyto(q, pivmin, where=mask)
        np.maximum(tmp, pivmin, out=tmp)
        np.log(tmp, out=tmp)
        lr += tmp[0]
        lr -= tmp[1]
        np.less(q, 0.0, out=mask)
        cnt += mask
    na, nb = cnt
    # u* = -det(T_seg - x) / det(T_seg[1:,1:] - x): sign from the negative counts
    sgn = np.where((na + nb) % 2 == 0, -1.0, 1.0)
    return q[0], q[1], nb, lr, sgn


def _scan(b_in, qa, qb, nb, lr, sgn, pivmin):
    """Phase 2: sequential scan over segments, vectorised over shifts."""
    count = np.zeros(qa.shape[1], dtype=np.int64)
    q = np.ones(qa.shape[1])
    for s in range(qa.shape[0]):
        u = -b_in[s] / q
        lu = np.log(np.abs(u))
        pos = sgn[s] > 0
        less = np.where(pos, (u <= 0) | (lu < lr[s]), (u < 0) & (lu > lr[s]))
        count += nb[s] + less
        su = np.sign(u) * sgn[s]
        small = lu <= lr[s]                                   # |u| <= |u*|
        r = su * np.exp(np.minimum(lu - lr[s], 0.0))          # u / u*
        t = su * np.exp(np.minimum(lr[s] - lu, 0.0))          # u* / u
        qo_small = qa[s] * (1.0 - r) / (1.0 - r * (qa[s] / qb[s]))
        qo_large = qb[s] * (1.0 - t) / (1.0 - t * (qb[s] / qa[s]))
        q = np.where(u == 0, qa[s], np.where(small, qo_small, qo_large))
        q[np.isnan(q)] = pivmin
        _fix(q, pivmin)
    return count


def tridiagonal_cdf(diag, offdiag, x) -> np.ndarray:
    """Empirical spectral distribution ``#{eigenvalues <= x} / n`` at ``x`` (any shape)."""
    d = np.asarray(diag)
    return sturm_count(diag, offdiag, x, side="right") / max(d.size, 1)


def extreme_eigvals(diag, offdiag) -> tuple[float, float]:
    """Smallest and largest eigenvalue (LAPACK bisection, O(n) memory)."""
    d, e = _as_tridiagonal(diag, offdiag)
    if d.size == 1:
        return float(d[0]), float(d[0])
    lo = eigvalsh_tridiagonal(d, e, select="i", select_range=(0, 0))[0]
    hi = eigvalsh_tridiagonal(d, e, select="i", select_range=(d.size - 1, d.size - 1))[0]
    return float(lo), float(hi)


def tridiagonal_histogram(diag, offdiag, bins=200, range=None) -> SpectrumHistogram:  # noqa: A002
    """Histogram of all eigenvalues by Sturm counts (``numpy.histogram`` semantics).

    Parameters
    ----------
    bins : int >= 1 (equal-width bins over ``range``) or an increasing array of
        edges (e.g. ``np.geomspace`` for heavy tails).
    range : ``(lo, hi)`` with lo < hi, used when ``bins`` is an int.  Default: the
        smallest and largest eigenvalue (found by bisection), widened by a relative
        1e-9 so that every eigenvalue is inside.

    Cost: about ``len(edges)`` Sturm sweeps, vectorised (1e6 x 200 bins: ~2 s).
    """
    d, e = _as_tridiagonal(diag, offdiag)
    return _histogram(lambda x, side: sturm_count(d, e, x, side=side), d.size, bins, range,
                      lambda: extreme_eigvals(d, e))


def _as_bidiagonal(ld, ls) -> tuple[np.ndarray, np.ndarray]:
    return _as_band(ld, ls, ("ld", "ls"))


def bidiagonal_count(ld, ls, x, *, side: str = "left") -> np.ndarray:
    """Exact number of eigenvalues of ``T = L L^T`` below ``x``, to high relative accuracy.

    L is lower bidiagonal (diagonal ``ld``, sub-diagonal ``ls``).  The eigenvalues
    of T are the squared singular values of L, i.e. the squares of the positive
    eigenvalues of the zero-diagonal Golub-Kahan tridiagonal matrix of size 2n
    (off-diagonal ``ld_0, ls_0, ld_1, ..., ld_{n-1}``), so
    ``#{sigma^2 < x} = #{eig(TGK) < sqrt(x)} - n``.  Sturm counts on that matrix
    resolve eigenvalues far below ``eps * ||T||`` (Demmel-Kahan).  ``side`` as in
    :func:`sturm_count`.
    """
    d, e = _as_bidiagonal(ld, ls)
    x = _as_shifts(x)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    n = d.size
    flat = x.ravel()
    out = np.zeros(flat.shape, dtype=np.int64)
    # Shifts above 1e-6 ||T|| are resolved to ~1e-9 relative by the plain Sturm count on
    # T (backward error ~eps ||T||): use it there, the 2n-long Golub-Kahan count below.
    t_diag = d * d
    t_diag[1:] += e * e
    t_off = d[:-1] * e
    norm = np.max(t_diag + np.concatenate([np.abs(t_off), [0.0]])
                  + np.concatenate([[0.0], np.abs(t_off)]))
    large = flat >= 1e-6 * norm
    if np.any(large):
        out[large] = sturm_count(t_diag, t_off, flat[large], side=side)
    small = ~large & ((flat > 0) if side == "left" else (flat >= 0))
    if np.any(small):
        off = np.empty(2 * n - 1)
        off[0::2] = d
        off[1::2] = e
        out[small] = sturm_count(np.zeros(2 * n), off, np.sqrt(flat[small]), side=side) - n
    return out.reshape(x.shape)


def bidiagonal_histogram(ld, ls, bins=200, range=None) -> SpectrumHistogram:  # noqa: A002
    """:func:`tridiagonal_histogram` of ``T = L L^T`` with the counts of :func:`bidiagonal_count`."""
    d, e = _as_bidiagonal(ld, ls)
    t_diag = d * d
    t_diag[1:] += e * e
    return _histogram(lambda x, side: bidiagonal_count(d, e, x, side=side), d.size, bins,
                      range, lambda: extreme_eigvals(t_diag, d[:-1] * e))


def _histogram(count, n, bins, range, extremes) -> SpectrumHistogram:  # noqa: A002
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        nbins = check_positive_int("bins", bins)
        if range is None:
            lo, hi = extremes()
            pad = 1e-9 * max(hi - lo, abs(lo), abs(hi), _TINY)
            lo, hi = lo - pad, hi + pad
        else:
            lo, hi = (float(v) for v in check_param("range", range))
            if not lo < hi:
                raise ValueError(f"range must be (lo, hi) with lo < hi, got {range!r}")
        edges = np.linspace(lo, hi, nbins + 1)
    else:
        edges = check_param("bins", bins)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("bins must be an int >= 1 or a strictly increasing 1-D array "
                             f"of at least 2 edges, got {bins!r}")
    lt = count(edges, "left")
    le_last = int(count(edges[-1:], "right")[0])
    counts = np.diff(lt)
    counts[-1] += le_last - lt[-1]
    return SpectrumHistogram(counts=counts, edges=edges, n=n,
                             n_below=int(lt[0]), n_above=int(n - le_last))
