"""Dumitriu-Edelman tridiagonal models of the beta-Laguerre and beta-Hermite ensembles.

Both samplers work for every ``beta > 0``, including the high-temperature
regime ``beta = kappa / n`` of the paper, use O(n) memory (never a dense
n x n matrix) and return a :class:`SymTridiagonal` whose eigenvalues follow
the ensemble exactly (finite n, no approximation).

beta-Laguerre (MATH.md section 2.1, the paper's Algorithm 2)
    joint density of the eigenvalues ``x_1..x_n``::

        prod_i x_i**alpha * exp(-x_i) * prod_{i<j} |x_i - x_j|**beta,   alpha > -1.

    B is lower bidiagonal with ``B[i, i] = sqrt(chi2(2 a_DE - beta i))``
    (i = 0..n-1) and ``B[i+1, i] = sqrt(chi2(beta (n-1-i)))`` (i = 0..n-2),
    ``a_DE = alpha + 1 + beta (n-1)/2``; then ``x = eig(B B^T) / 2``.  We
    return ``T = B B^T / 2`` directly, drawing ``G_i = B[i,i]**2/2 ~
    Gamma(a_DE - beta i/2)`` and ``H_i = B[i+1,i]**2/2 ~ Gamma(beta (n-1-i)/2)``::

        diag_i = G_i + H_{i-1},   offdiag_i = sqrt(G_i H_i),

    keeping the factor ``L = B / sqrt(2)`` (``T = L L^T``) so that eigenvalues
    and counts have high relative accuracy (see :class:`SymTridiagonal`).

    The constraint ``2 a_DE - beta (n-1) > 0`` (the last chi-square has a
    positive number of degrees of freedom) is exactly ``alpha > -1``.

    Classical (p, n) Wishart form: if G is p x n (p <= n) with iid standard
    real (beta=1), complex (beta=2) or quaternion (beta=4) Gaussian entries
    normalised so that ``E|g|^2 = beta``, the eigenvalues of ``G G^*`` are
    ``2 x`` with x beta-Laguerre of size p and ``alpha = beta (n-p+1)/2 - 1``
    (so ``2 a_DE = beta n``).  :func:`beta_wishart_eigvals` does this mapping;
    real ``n > p - 1`` is allowed.

beta-Hermite
    joint density ``prod_i exp(-x_i**2 / 2) prod_{i<j} |x_i - x_j|**beta``:
    ``diag_i ~ N(0, 1)`` and ``offdiag_i = sqrt(Gamma(beta (n-1-i)/2))``
    (that is chi_{beta(n-1-i)} / sqrt 2).  beta = 1 is the GOE with
    ``H_ii ~ N(0, 1)``, ``H_ij ~ N(0, 1/2)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import eigvalsh_tridiagonal

from .._validation import check_param, check_positive_int
from . import counting
from ._lapack import bidiagonal_singular_values

__all__ = [
    "SymTridiagonal",
    "beta_laguerre_tridiagonal",
    "beta_laguerre_eigvals",
    "beta_wishart_eigvals",
    "beta_hermite_tridiagonal",
    "beta_hermite_eigvals",
]


@dataclass(frozen=True, eq=False)
class SymTridiagonal:
    """A real symmetric tridiagonal matrix stored as ``(diag, offdiag)``.

    Unpacks like a pair: ``d, e = beta_laguerre_tridiagonal(...)``.  The
    arrays are read-only.  ``factor``, when present, is a lower bidiagonal
    ``L`` (its diagonal and sub-diagonal) with ``T = L L^T``; it is set by
    :meth:`from_bidiagonal` (the beta-Laguerre models) and makes
    :meth:`eigvals` and the Sturm counts accurate to high *relative* precision
    (dqds on L; counts on the Golub-Kahan matrix of L), which matters for the
    tiny eigenvalues of the high-temperature regime.  Without a factor the
    accuracy is absolute, about ``eps * ||T||``.
    """

    diag: np.ndarray
    offdiag: np.ndarray
    factor: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        d = np.array(self.diag, dtype=float)
        e = np.array(self.offdiag, dtype=float)
        if d.ndim != 1 or d.size < 1:
            raise ValueError(f"diag must be a non-empty 1-D array, got shape {d.shape}")
        if e.shape != (d.size - 1,):
            raise ValueError(f"offdiag must have shape ({d.size - 1},) to match diag, "
                             f"got {e.shape}")
        arrays = [d, e]
        if self.factor is not None:
            ld, ls = (np.array(v, dtype=float) for v in self.factor)
            if ld.shape != d.shape or ls.shape != e.shape:
                raise ValueError("factor must be (diagonal, subdiagonal) of shapes "
                                 f"({d.size},) and ({d.size - 1},), got {ld.shape}, {ls.shape}")
            object.__setattr__(self, "factor", (ld, ls))
            arrays += [ld, ls]
        for a in arrays:
            a.setflags(write=False)
        object.__setattr__(self, "diag", d)
        object.__setattr__(self, "offdiag", e)

    @classmethod
    def from_bidiagonal(cls, ld, ls) -> "SymTridiagonal":
        """``T = L L^T`` for the lower bidiagonal L with diagonal ``ld`` and sub-diagonal ``ls``."""
        ld = np.asarray(ld, dtype=float)
        ls = np.asarray(ls, dtype=float)
        diag = ld * ld
        diag[1:] += ls * ls
        return cls(diag, ld[:-1] * ls, factor=(ld, ls))

    def __iter__(self):
        return iter((self.diag, self.offdiag))

    @property
    def n(self) -> int:
        """Matrix size."""
        return self.diag.size

    def scaled(self, c: float) -> "SymTridiagonal":
        """The matrix ``c T`` for ``c > 0`` (the factor is scaled by ``sqrt(c)``)."""
        c = float(check_param("c", c, 0.0))
        if self.factor is None:
            return SymTridiagonal(c * self.diag, c * self.offdiag)
        r = np.sqrt(c)
        return SymTridiagonal.from_bidiagonal(r * self.factor[0], r * self.factor[1])

    def eigvals(self) -> np.ndarray:
        """All eigenvalues in ascending order (O(n^2); LAPACK ``sterf``, or dqds on the factor).

        ``sterf`` is accurate to ~eps ||T||.  With a factor, the smallest eigenvalue is
        first located by bisection; if it is below 1e-6 ||T|| the eigenvalues are taken
        from dqds (``dlasq1``) on L instead, which is accurate to high relative precision
        (about 30% slower than ``sterf``, so it is used only when needed).
        """
        if self.n == 1:
            return self.diag.copy()
        if self.factor is not None:
            lo = eigvalsh_tridiagonal(self.diag, self.offdiag, select="i", select_range=(0, 0))
            norm = np.max(self.diag + np.r_[self.offdiag, 0.0] + np.r_[0.0, self.offdiag])
            if lo[0] <= 1e-6 * norm:
                sv = bidiagonal_singular_values(*self.factor)
                if sv is not None:
                    return sv * sv
        return eigvalsh_tridiagonal(self.diag, self.offdiag, lapack_driver="sterf")

    def count_below(self, x, *, side: str = "left") -> np.ndarray:
        """Exact number of eigenvalues ``< x`` (``<= x`` with ``side="right"``), by Sturm counts."""
        if self.factor is not None:
            return counting.bidiagonal_count(*self.factor, x, side=side)
        return counting.sturm_count(self.diag, self.offdiag, x, side=side)

    def cdf(self, x) -> np.ndarray:
        """Empirical spectral distribution ``#{eigenvalues <= x} / n``."""
        return self.count_below(x, side="right") / self.n

    def histogram(self, bins=200, range=None) -> counting.SpectrumHistogram:  # noqa: A002
        """Eigenvalue histogram by Sturm counts; see :func:`counting.tridiagonal_histogram`."""
        if self.factor is not None:
            return counting.bidiagonal_histogram(*self.factor, bins=bins, range=range)
        return counting.tridiagonal_histogram(self.diag, self.offdiag, bins=bins, range=range)


def beta_laguerre_tridiagonal(n: int, *, beta: float, alpha: float,
                              rng=None) -> SymTridiagonal:
    """Tridiagonal ``T = B B^T / 2`` whose eigenvalues are beta-Laguerre(n, beta, alpha).

    Joint eigenvalue density ``prod x_i^alpha e^{-x_i} prod_{i<j}|x_i-x_j|^beta``
    (MATH.md section 2.1; no n-scaling).  Any ``beta > 0``; for the
    high-temperature regime pass ``beta = kappa / n``.

    Parameters
    ----------
    n : int >= 1
    beta : float > 0
    alpha : float > -1 (the Laguerre constraint ``a_DE - beta (n-1)/2 > 0``)
    rng : seed or ``numpy.random.Generator``, passed to ``np.random.default_rng``.
    """
    n = check_positive_int("n", n)
    beta = float(check_param("beta", beta, 0.0))
    alpha = float(check_param("alpha", alpha, -1.0))
    rng = np.random.default_rng(rng)
    k = np.arange(n - 1, -1, -1, dtype=float)          # n-1-i for i = 0..n-1
    # G_i ~ Gamma(a_DE - beta i/2) = Gamma(alpha + 1 + beta (n-1-i)/2): written this
    # way there is no cancellation for large n and the shape is >= alpha + 1 > 0.
    g = rng.standard_gamma((alpha + 1.0) + beta * k / 2.0)
    h = rng.standard_gamma(beta * k[:-1] / 2.0)            # H_i ~ Gamma(beta (n-1-i)/2)
    return SymTridiagonal.from_bidiagonal(np.sqrt(g), np.sqrt(h))     # L = B / sqrt(2)


def beta_laguerre_eigvals(n: int, *, beta: float, alpha: float, rng=None) -> np.ndarray:
    """Eigenvalues (ascending) of :func:`beta_laguerre_tridiagonal`."""
    return beta_laguerre_tridiagonal(n, beta=beta, alpha=alpha, rng=rng).eigvals()


def beta_wishart_eigvals(p: int, n: float, *, beta: float, rng=None) -> np.ndarray:
    """Eigenvalues of the classical beta-Wishart matrix ``G G^*`` (G is p x n).

    Entries of G are standard Gaussians with ``E|g|^2 = beta`` (beta = 1, 2, 4:
    real, complex, quaternion); any ``beta > 0`` and real ``n > p - 1`` are
    allowed through the Dumitriu-Edelman model.  Equals ``2 x`` with x
    beta-Laguerre of size p and ``alpha = beta (n - p + 1)/2 - 1``.
    """
    p = check_positive_int("p", p)
    n = float(check_param("n", n, p - 1.0))
    beta = float(check_param("beta", beta, 0.0))
    alpha = beta * (n - p + 1.0) / 2.0 - 1.0
    return 2.0 * beta_laguerre_eigvals(p, beta=beta, alpha=alpha, rng=rng)


def beta_hermite_tridiagonal(n: int, *, beta: float, rng=None) -> SymTridiagonal:
    """Tridiagonal matrix whose eigenvalues are beta-Hermite(n, beta).

    Joint eigenvalue density ``prod exp(-x_i^2/2) prod_{i<j}|x_i-x_j|^beta``;
    ``diag ~ N(0,1)``, ``offdiag_i = sqrt(Gamma(beta (n-1-i)/2))``.
    """
    n = check_positive_int("n", n)
    beta = float(check_param("beta", beta, 0.0))
    rng = np.random.default_rng(rng)
    diag = rng.standard_normal(n)
    offdiag = np.sqrt(rng.standard_gamma(beta * np.arange(n - 1, 0, -1, dtype=float) / 2.0))
    return SymTridiagonal(diag, offdiag)


def beta_hermite_eigvals(n: int, *, beta: float, rng=None) -> np.ndarray:
    """Eigenvalues (ascending) of :func:`beta_hermite_tridiagonal`."""
    return beta_hermite_tridiagonal(n, beta=beta, rng=rng).eigvals()
