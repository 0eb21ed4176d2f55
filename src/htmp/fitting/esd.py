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

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._results import FitResult, _readonly

__all__ = ["ESDResult", "esd"]


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


def _gram(A: np.ndarray) -> np.ndarray:
    """Upper triangle of A Aᵀ in float64 by BLAS syrk (half the flops of ``A @ A.T``).

    A float64 A whose transpose is contiguous goes to syrk as it is; anything else (float32,
    integers, a C-ordered A) is converted in blocks of columns of about 8 MB, accumulated
    with beta = 1, so no float64 copy of the whole matrix is ever made.
    """
    a, b = A.shape
    if A.dtype == np.float64 and A.flags.f_contiguous:
        return scipy.linalg.blas.dsyrk(1.0, A)
    if A.dtype == np.float64 and A.flags.c_contiguous:
        return scipy.linalg.blas.dsyrk(1.0, A.T, trans=1)      # (Aᵀ)ᵀ Aᵀ = A Aᵀ
    step = max(64, _BLOCK_BYTES // (8 * a))
    G = np.zeros((a, a), order="F")
    for j in range(0, b, step):       # the F-ordered float64 copy of one block of columns
        blk = np.asfortranarray(A[:, j:j + step], dtype=np.float64)
        G = scipy.linalg.blas.dsyrk(1.0, blk, beta=1.0, c=G, overwrite_c=1)
        del blk                       # before the next block is made: one block at a time
    return G


def _gram_eigvals(W: np.ndarray) -> np.ndarray:
    """Eigenvalues of the smaller Gram matrix / max(shape); LAPACK's evr reads only the
    triangle syrk formed."""
    a, b = W.shape
    G = _gram(W if a <= b else W.T)
    if not np.all(np.isfinite(np.diag(G))):     # |G_ij| <= sqrt(G_ii G_jj): the diagonal tells
        raise ValueError(f"W's Gram matrix overflows float64 (largest |entry| "
                         f"{float(np.max(np.abs(W))):.3g})")
    ev = scipy.linalg.eigvalsh(G, lower=False, overwrite_a=True, check_finite=False,
                               driver="evr")
    return ev / max(a, b)


def esd(W, *, conv: str = "flatten") -> ESDResult:
    """ESD of ``W`` (see the module docstring for the normalisation and rank conventions).

    >>> import numpy as np
    >>> r = esd(np.random.default_rng(0).standard_normal((100, 400)))
    >>> r.N, r.M, r.gamma, r.rank
    (100, 400, 0.25, 100)
    """
    return esd_with(W, conv=conv, gram_eigvals=_gram_eigvals)


def esd_with(W, *, conv: str, gram_eigvals) -> ESDResult:
    """:func:`esd` with another eigen-solver: ``gram_eigvals(matrix)`` must return the
    eigenvalues of the smaller Gram matrix divided by max(shape) (the GPU path uses this)."""
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
    ev = np.sort(np.concatenate([gram_eigvals(m) for m in mats]))
    top = ev[-1]
    tol = M * np.finfo(float).eps * top
    ev = np.clip(ev, 0.0, None)
    rank = int(np.sum(ev > tol))
    return ESDResult(eigenvalues=_readonly(ev), gamma=N / M, N=N, M=M, rank=rank,
                     n_zero=len(ev) - rank, tol=float(tol), shape=shape, conv=conv,
                     n_slices=len(mats))
