"""Empirical spectral density (ESD) of a weight matrix.

Convention (MATH.md section 1): for W of shape (a, b), N = min(a, b), M = max(a, b),
the ESD is the N eigenvalues of the N x N Gram matrix divided by M (W Wᵀ / M if
a <= b, else Wᵀ W / M) and gamma = N / M.  With iid entries of variance sigma^2 it
tends to MP_{gamma, sigma^2}.  The eigenvalues are the squared singular values of W
divided by M; they come from ``eigvalsh`` of the smaller Gram matrix (faster than
an SVD, accurate to about ``eps * lambda_max`` in absolute terms).

Numerical rank: an eigenvalue counts as zero if it is <= ``tol = max(N, M) * eps *
lambda_max`` (the absolute accuracy of ``eigvalsh`` on the Gram matrix; a
singular value below ``sqrt(tol * M)`` cannot be resolved from the Gram matrix).
``rank = #{lambda > tol}``, ``n_zero = N - rank``.

Scale: W is multiplied by ``2^-e`` (its largest |entry| then lies in [1/2, 1)) as the Gram
matrix is formed, and the eigenvalues are multiplied back by ``4^e``.  Powers of 2 are
exact, so the ESD of ``2^k W`` is ``4^k`` times that of W to the last bit, and the Gram
matrix neither underflows (entries of 1e-200 would give a zero matrix: "rank 0") nor
overflows (1e200).  The eigenvalues must be float64 numbers: a ValueError says so when the
largest one exceeds 1.8e308 or a nonzero one falls below 2.2e-308 (the smallest normal
number), i.e. for weights beyond about 2^+-500 = 1e+-150.

Conv kernels of shape (out, in, kh, kw):

* ``conv="flatten"`` (default, our choice): reshape to (out, in*kh*kw) and take the
  ESD of that single matrix; gamma = min/max of that shape.
* ``conv="slices"`` (WeightWatcher 0.7.7's convention): the kh*kw slices
  ``W[:, :, i, j]`` (out x in) each give an ESD; the eigenvalues are concatenated
  (kh*kw*min(out, in) values) and gamma = min(out, in)/max(out, in).  WeightWatcher
  also multiplies W by sqrt(kh*kw/2) (``conv2d_norm``) and does not divide by M; both
  only rescale the eigenvalues (power-law alpha is unchanged).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._results import FitResult, readonly_array

__all__ = ["ESDResult", "ScaleRangeError", "esd"]


@dataclass(frozen=True)
class ESDResult(FitResult):
    """ESD of a weight matrix. ``eigenvalues`` ascending (read-only), length ``n_slices * N``."""

    eigenvalues: np.ndarray
    gamma: float
    N: int
    M: int
    rank: int
    n_zero: int
    tol: float
    shape: tuple
    conv: str
    n_slices: int = 1

    @property
    def zero_fraction(self) -> float:
        return self.n_zero / len(self.eigenvalues)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["shape"] = list(self.shape)
        return d


def _check_matrix(W) -> np.ndarray:
    """``W`` as a numeric array, validated; not converted (the Gram matrix converts it to
    float64 block by block, so a float32 layer is never copied whole)."""
    arr = np.asarray(W)
    if np.iscomplexobj(arr):
        raise ValueError("W must be a real matrix, got a complex array")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"W must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim not in (2, 4):
        raise ValueError(f"W must be 2-D (a weight matrix) or 4-D (a conv kernel "
                         f"(out, in, kh, kw)), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"W must be non-empty, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"W must be finite, got {int(np.sum(~np.isfinite(arr)))} NaN/Inf entries")
    if min(arr.shape[:2]) < 2 and arr.ndim == 2:
        raise ValueError(f"W must have both dimensions >= 2 for a spectrum, got shape {arr.shape}")
    if not np.any(arr):
        raise ValueError("W is all zero: its ESD is a point mass at 0 (no spectrum to fit)")
    return arr


_BLOCK_BYTES = 8 << 20     # float64 bytes converted at a time when forming the Gram matrix


def _max_abs(arr: np.ndarray) -> float:
    """max |entry| without a temporary array (``-min`` in float: int8's -128 has no negation)."""
    return max(abs(float(arr.max())), abs(float(arr.min())))


def _unit_exponent(top: float) -> int:
    """e with ``top * 2^-e`` in [1/2, 1) (0 for top = 0): the power of 2 that normalises."""
    return math.frexp(top)[1] if top > 0 else 0


def _gram(A: np.ndarray, e: int = 0) -> np.ndarray:
    """Upper triangle of (2^-e A)(2^-e A)ᵀ in float64 by BLAS syrk (half the flops of
    ``A @ A.T``).

    A float64 A with e = 0 whose transpose is contiguous goes to syrk as it is; anything else
    (a scale to apply, float32, integers, a C-ordered A) is converted and scaled in blocks of
    columns of about 8 MB, accumulated with beta = 1, so no float64 copy of the whole matrix
    is ever made.
    """
    a, b = A.shape
    if A.dtype == np.float64 and e == 0 and A.flags.f_contiguous:
        return scipy.linalg.blas.dsyrk(1.0, A)
    if A.dtype == np.float64 and e == 0 and A.flags.c_contiguous:
        return scipy.linalg.blas.dsyrk(1.0, A.T, trans=1)      # (Aᵀ)ᵀ Aᵀ = A Aᵀ
    step = max(64, _BLOCK_BYTES // (8 * a))
    G = np.zeros((a, a), order="F")
    for j in range(0, b, step):       # the F-ordered float64 copy of one block of columns
        blk = np.array(A[:, j:j + step], dtype=np.float64, order="F")   # a copy, never W
        if e:
            np.ldexp(blk, -e, out=blk)                           # exact: a power of 2
        G = scipy.linalg.blas.dsyrk(1.0, blk, beta=1.0, c=G, overwrite_c=1)
        del blk                       # before the next block is made: one block at a time
    return G


def _gram_eigvals(W: np.ndarray, e: int = 0) -> np.ndarray:
    """Eigenvalues of the smaller Gram matrix of 2^-e W, / max(shape); LAPACK's evr reads
    only the triangle syrk formed."""
    a, b = W.shape
    G = _gram(W if a <= b else W.T, e)
    ev = scipy.linalg.eigvalsh(G, lower=False, overwrite_a=True, check_finite=False,
                               driver="evr")
    return ev / max(a, b)


def _log10_text(v: float, e2: int) -> str:
    """v * 2^e2 written as "2.5e-400" (v > 0), for values float64 cannot hold."""
    lg = math.log10(v) + e2 * math.log10(2.0)
    ex = math.floor(lg)
    return f"{10 ** (lg - ex):.2g}e{ex:+d}"


class ScaleRangeError(ValueError):
    """W's eigenvalues cannot be held in float64 (weights beyond about 2^+-505).

    ``exponent``: e with the largest |entry| of ``2^-e W`` in [1/2, 1); ``normalised``: the
    :class:`ESDResult` of ``2^-e W`` (its eigenvalues are W's divided by ``4^e``), for
    scale-free quantities (kappa, KS distances, alpha, the phase)."""

    def __init__(self, message: str, exponent: int):
        super().__init__(message)
        self.exponent = exponent
        self.normalised = None


def _in_units_of_w(ev: np.ndarray, tol: float, e: int, max_abs: float) -> tuple:
    """(eigenvalues, tol) of W from those of 2^-e W (times 4^e, exact); ValueError when the
    largest overflows float64 or a nonzero one (> tol) is below its smallest normal number."""
    lo = ev[ev > tol]
    top, bottom = float(ev[-1]), float(lo[0]) if len(lo) else math.inf
    tiny = np.finfo(float).tiny
    if math.frexp(top)[1] + 2 * e > 1024 or (len(lo) and math.frexp(bottom)[1] + 2 * e < -1021):
        over = math.frexp(top)[1] + 2 * e > 1024
        what = f"the largest reaches {_log10_text(top, 2 * e)}" if over else \
            f"the smallest nonzero one is {_log10_text(bottom, 2 * e)}"
        raise ScaleRangeError(f"W's eigenvalues are outside the float64 range [{tiny:.3g}, "
                         f"{np.finfo(float).max:.3g}]: {what} (largest |entry| of W "
                         f"{max_abs:.3g}); multiply W by a power of 2 (kappa, the KS "
                         f"distances, alpha and the phase do not depend on its scale)", e)
    return np.ldexp(ev, 2 * e), float(np.ldexp(tol, 2 * e))


def esd(W, *, conv: str = "flatten") -> ESDResult:
    """ESD of ``W`` (see the module docstring for the normalisation and rank conventions).

    >>> import numpy as np
    >>> r = esd(np.random.default_rng(0).standard_normal((100, 400)))
    >>> r.N, r.M, r.gamma, r.rank
    (100, 400, 0.25, 100)
    """
    return _esd(W, conv=conv, gram=_gram_eigvals)


def esd_with(W, *, conv: str, gram_eigvals, scaled: bool = False) -> ESDResult:
    """:func:`esd` with another eigen-solver: ``gram_eigvals(matrix)`` must return the
    eigenvalues of the smaller Gram matrix divided by max(shape).  It gets W scaled by a
    power of 2 (a float64 copy when the scale is not 1); with ``scaled=True`` it is called
    as ``gram_eigvals(matrix, e)`` with W itself and must scale by ``2^-e`` on its own (the
    GPU path: the copy is made on the device)."""
    if scaled:
        return _esd(W, conv=conv, gram=gram_eigvals)

    def scaled_copy(m, e):
        return gram_eigvals(np.ldexp(m.astype(np.float64), -e) if e else m)
    return _esd(W, conv=conv, gram=scaled_copy)


def _esd(W, *, conv: str, gram) -> ESDResult:
    """:func:`esd` with ``gram(matrix, e)``: the eigenvalues of the smaller Gram matrix of
    ``2^-e matrix``, divided by max(shape)."""
    if conv not in ("flatten", "slices"):
        raise ValueError(f"conv must be 'flatten' or 'slices', got {conv!r}")
    arr = _check_matrix(W)
    shape = tuple(int(s) for s in arr.shape)
    if arr.ndim == 4 and conv == "slices":
        mats = [arr[:, :, i, j] for i in range(shape[2]) for j in range(shape[3])]
    elif arr.ndim == 4:
        mats = [arr.reshape(shape[0], -1)]
    else:
        mats = [arr]
        conv = "none"
    a, b = mats[0].shape
    if min(a, b) < 1:
        raise ValueError(f"W must have non-empty matrix dimensions, got shape {shape}")
    N, M = min(a, b), max(a, b)
    max_abs = _max_abs(arr)
    e = _unit_exponent(max_abs)
    ev = np.sort(np.concatenate([gram(m, e) for m in mats]))     # of 2^-e W: no under/overflow
    tol = M * np.finfo(float).eps * ev[-1]
    ev = np.clip(ev, 0.0, None)
    rank = int(np.sum(ev > tol))
    try:
        ev_w, tol_w = _in_units_of_w(ev, tol, e, max_abs)
    except ScaleRangeError as err:
        err.normalised = ESDResult(eigenvalues=readonly_array(ev), gamma=N / M, N=N, M=M,
                                   rank=rank, n_zero=len(ev) - rank, tol=tol, shape=shape,
                                   conv=conv, n_slices=len(mats))
        raise
    return ESDResult(eigenvalues=readonly_array(ev_w), gamma=N / M, N=N, M=M, rank=rank,
                     n_zero=len(ev_w) - rank, tol=tol_w, shape=shape, conv=conv,
                     n_slices=len(mats))
