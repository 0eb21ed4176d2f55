"""Structured matrix classes of the paper's Appendix F and their Weyl factors.

Each class is a small immutable spec.  ``spec.sample(eigvals, rng=)`` draws a
Haar-random symmetric matrix of the class with the given eigenvalues and
``spec.log_weyl(eigvals)`` returns ``log V(lambda)``, the eigenvalue part of the
volume element of the parametrisation (eigenvalues, eigenvector group) ->
matrix, Frobenius metric (MATH.md section 6.1).  ``log_weyl`` is vectorised
over any leading batch axes of ``eigvals`` (shape ``(..., n)``) and returns
``-inf`` where V vanishes.

Labelling convention (n = m * d, ``d = block_size``): eigenvalue index k sits
at block/row ``a = k // d`` and position ``i = k % d``, i.e.
``lambda.reshape(m, d)[a, i]`` is ``lambda_{a,i}``.  For the Kronecker class the
basis vector of index k is ``e_a (x) e_i`` (``numpy.kron`` order), Q_1 in O(m)
acts on a and Q_2 in O(d) on i.  For :class:`FreeEigenvectors` the first k
eigenvalues have free eigenvectors.  The assignment of eigenvalues to
positions changes V for the commuting-block and Kronecker classes; MATH.md
section 6.2 recommends a uniformly random labelling: apply
:func:`random_labelling` to sorted samples before calling ``log_weyl``.

| class | V(lambda) |
|---|---|
| Diagonal | 1 |
| CommutingBlockDiagonal | prod_{i<j<=d} ||(lambda_{a,i} - lambda_{a,j})_{a=1..m}||_2 |
| BlockDiagonal | prod_a prod_{i<j} |lambda_{a,i} - lambda_{a,j}| |
| KroneckerLike | prod_{a<b} ||(lambda_{a,i}-lambda_{b,i})_i||_2 * prod_{i<j} ||(lambda_{a,i}-lambda_{a,j})_a||_2 |
| Symmetric | prod_{i<j} |lambda_i - lambda_j| |
| FreeEigenvectors(k) | prod_{i<j<=k} |lambda_i - lambda_j| |

The Jacobian of the parametrisation equals ``sqrt(2)**group_dimension(n) * V``
(checked by finite differences in the tests).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import block_diag

from .._validation import check_param, check_positive_int
from .samplers import haar_orthogonal

__all__ = [
    "Diagonal",
    "CommutingBlockDiagonal",
    "BlockDiagonal",
    "KroneckerLike",
    "Symmetric",
    "FreeEigenvectors",
    "random_labelling",
]


def random_labelling(eigvals, *, rng=None) -> np.ndarray:
    """Independent uniformly random permutation of the last axis of each eigenvalue vector."""
    lam = check_param("eigvals", eigvals)
    if lam.ndim < 1:
        raise ValueError(f"eigvals must have at least one axis, got a scalar {eigvals!r}")
    return np.random.default_rng(rng).permuted(lam, axis=-1)


def _log_norm_pairs(x: np.ndarray) -> np.ndarray:
    """sum_{i<j} log || x[..., :, i] - x[..., :, j] ||_2 for x of shape (..., m, d)."""
    m, d = x.shape[-2:]
    out = np.zeros(x.shape[:-2])
    if d < 2:
        return out
    scale = np.max(np.abs(x), axis=(-2, -1), keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    y = x / scale
    with np.errstate(divide="ignore"):
        for k in range(1, d):
            diff = y[..., :, k:] - y[..., :, :-k]
            if m == 1:
                out += np.log(np.abs(diff[..., 0, :])).sum(axis=-1)
            else:
                out += 0.5 * np.log(np.einsum("...ai,...ai->...i", diff, diff)).sum(axis=-1)
    return out + (d * (d - 1) / 2) * np.log(scale[..., 0, 0])


class _StructuredClass:
    """Shared validation and the count heuristic; subclasses are frozen dataclasses."""

    def group_dimension(self, n: int) -> int:
        """Dimension of the eigenvector group = number of difference factors |P|."""
        raise NotImplementedError

    def kappa_count(self, n: int) -> float:
        """``2 |P| / (n - 1)``: kappa* for product forms, a heuristic otherwise (MATH.md 6.2)."""
        n = check_positive_int("n", n, minimum=2)
        return 2.0 * self.group_dimension(n) / (n - 1)

    def _check(self, eigvals, *, vector: bool = False) -> np.ndarray:
        lam = check_param("eigvals", eigvals)
        if lam.ndim < 1 or lam.shape[-1] < 1:
            raise ValueError(f"eigvals must have shape (..., n) with n >= 1, got {lam.shape}")
        if vector and lam.ndim != 1:
            raise ValueError(f"eigvals must be a 1-D array to sample, got shape {lam.shape}")
        self._check_size(lam.shape[-1])
        return lam

    def _check_size(self, n: int) -> None:
        pass

    @staticmethod
    def _sym(m: np.ndarray) -> np.ndarray:
        return 0.5 * (m + m.T)


class _Blocked(_StructuredClass):
    block_size: int

    def __post_init__(self) -> None:
        check_positive_int("block_size", self.block_size)

    def _check_size(self, n: int) -> None:
        if n % self.block_size:
            raise ValueError(f"block_size must divide the number of eigenvalues n={n} "
                             f"(accepted: divisors of {n}), got {self.block_size}")

    def _grid(self, lam: np.ndarray) -> np.ndarray:
        d = self.block_size
        return lam.reshape(lam.shape[:-1] + (lam.shape[-1] // d, d))


@dataclass(frozen=True)
class Diagonal(_StructuredClass):
    """(a) Diagonal matrices ``diag(lambda)``; V = 1."""

    def group_dimension(self, n: int) -> int:
        return 0

    def sample(self, eigvals, *, rng=None) -> np.ndarray:
        return np.diag(self._check(eigvals, vector=True))

    def log_weyl(self, eigvals) -> np.ndarray:
        return np.zeros(self._check(eigvals).shape[:-1])[()]


@dataclass(frozen=True)
class CommutingBlockDiagonal(_Blocked):
    """(b) ``(I_m (x) Q) Lambda (I_m (x) Q)^T``, one Q in O(block_size) shared by all blocks."""

    block_size: int

    def group_dimension(self, n: int) -> int:
        d = self.block_size
        return d * (d - 1) // 2

    def sample(self, eigvals, *, rng=None) -> np.ndarray:
        x = self._grid(self._check(eigvals, vector=True))
        q = haar_orthogonal(self.block_size, rng=rng)
        blocks = np.einsum("ij,aj,kj->aik", q, x, q)
        return self._sym(block_diag(*blocks))

    def log_weyl(self, eigvals) -> np.ndarray:
        return _log_norm_pairs(self._grid(self._check(eigvals)))[()]


@dataclass(frozen=True)
class BlockDiagonal(_Blocked):
    """(c) ``blockdiag(Q_a Lambda_a Q_a^T)``, independent Q_a in O(block_size)."""

    block_size: int

    def group_dimension(self, n: int) -> int:
        d = self.block_size
        return (n // d) * d * (d - 1) // 2

    def sample(self, eigvals, *, rng=None) -> np.ndarray:
        x = self._grid(self._check(eigvals, vector=True))
        qs = haar_orthogonal(self.block_size, size=x.shape[0], rng=rng)
        blocks = (qs * x[:, None, :]) @ np.swapaxes(qs, -1, -2)
        return self._sym(block_diag(*blocks))

    def log_weyl(self, eigvals) -> np.ndarray:
        x = self._grid(self._check(eigvals))
        return _log_norm_pairs(x[..., None, :]).sum(axis=-1)[()]


@dataclass(frozen=True)
class KroneckerLike(_Blocked):
    """(d) ``(Q_1 (x) Q_2) Lambda (Q_1 (x) Q_2)^T``, Q_1 in O(n/block_size), Q_2 in O(block_size)."""

    block_size: int

    def group_dimension(self, n: int) -> int:
        d = self.block_size
        m = n // d
        return m * (m - 1) // 2 + d * (d - 1) // 2

    def sample(self, eigvals, *, rng=None) -> np.ndarray:
        lam = self._check(eigvals, vector=True)
        rng = np.random.default_rng(rng)
        d = self.block_size
        q = np.kron(haar_orthogonal(lam.size // d, rng=rng), haar_orthogonal(d, rng=rng))
        return self._sym((q * lam) @ q.T)

    def log_weyl(self, eigvals) -> np.ndarray:
        x = self._grid(self._check(eigvals))
        return (_log_norm_pairs(x) + _log_norm_pairs(np.swapaxes(x, -1, -2)))[()]


@dataclass(frozen=True)
class Symmetric(_StructuredClass):
    """(e) All symmetric matrices ``Q Lambda Q^T``, Q Haar on O(n)."""

    def group_dimension(self, n: int) -> int:
        return n * (n - 1) // 2

    def sample(self, eigvals, *, rng=None) -> np.ndarray:
        lam = self._check(eigvals, vector=True)
        q = haar_orthogonal(lam.size, rng=rng)
        return self._sym((q * lam) @ q.T)

    def log_weyl(self, eigvals) -> np.ndarray:
        return _log_norm_pairs(self._check(eigvals)[..., None, :])[()]


@dataclass(frozen=True)
class FreeEigenvectors(_StructuredClass):
    """(f) ``Q = Q_0 blockdiag(R, I)``, R Haar on O(k): the first k eigenvectors are free."""

    k: int

    def __post_init__(self) -> None:
        check_positive_int("k", self.k)

    def _check_size(self, n: int) -> None:
        if self.k > n:
            raise ValueError(f"k must be <= the number of eigenvalues n={n} "
                             f"(accepted: 1..{n}), got {self.k}")

    def group_dimension(self, n: int) -> int:
        return self.k * (self.k - 1) // 2

    def sample(self, eigvals, *, rng=None, base=None) -> np.ndarray:
        """``base`` is the fixed frame Q_0 (n x n orthogonal; default identity)."""
        lam = self._check(eigvals, vector=True)
        n = lam.size
        q = block_diag(haar_orthogonal(self.k, rng=rng), np.eye(n - self.k))
        if base is not None:
            q0 = check_param("base", base)
            if q0.shape != (n, n) or not np.allclose(q0.T @ q0, np.eye(n), atol=1e-10):
                raise ValueError(f"base must be an orthogonal matrix of shape ({n}, {n}), "
                                 f"got shape {q0.shape}")
            q = q0 @ q
        return self._sym((q * lam) @ q.T)

    def log_weyl(self, eigvals) -> np.ndarray:
        lam = self._check(eigvals)
        return _log_norm_pairs(lam[..., None, : self.k])[()]
