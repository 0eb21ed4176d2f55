"""Convenience samplers for the HTMP and Master-Model (inverse-Wishart) ensembles.

* :func:`htmp_eigvals` - high-temperature beta-Laguerre eigenvalues whose ESD
  tends to the standardised (mean-1) HTMP(gamma, kappa) of MATH.md section 2.2.
* :func:`inverse_wishart_eigvals` - the high-temperature inverse-Wishart
  ensemble (4.1) ``prod lambda_i^{-a} e^{-b/lambda_i} prod |lambda_i-lambda_j|^{kappa/n}``
  sampled exactly through ``x = b / lambda`` (MATH.md section 5).
* :func:`master_model_eigvals` - (4.1) with the ``a`` that targets
  HTMP(gamma, kappa), scaled so that the ESD tends to InverseHTMP(gamma, kappa)
  (the law of 1/Y, Y ~ standardised HTMP); optionally rotated by a covariance.
* :func:`haar_orthogonal` - Haar-distributed orthogonal matrices.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_param, check_positive_int
from .tridiagonal import SymTridiagonal, beta_laguerre_tridiagonal

__all__ = [
    "haar_orthogonal",
    "htmp_parameters",
    "htmp_tridiagonal",
    "htmp_eigvals",
    "inverse_wishart_eigvals",
    "master_model_eigvals",
]


def haar_orthogonal(n: int, *, size=None, rng=None) -> np.ndarray:
    """Haar-distributed ``n x n`` orthogonal matrices (shape ``size + (n, n)``).

    QR of a standard Gaussian matrix, with the columns of Q multiplied by the
    signs of ``diag(R)`` (without that fix the law is not Haar).
    """
    n = check_positive_int("n", n)
    rng = np.random.default_rng(rng)
    shape = () if size is None else tuple(np.atleast_1d(size).astype(int))
    z = rng.standard_normal(shape + (n, n))
    q, r = np.linalg.qr(z)
    signs = np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)
    return q * signs[..., None, :]


def htmp_parameters(gamma: float, kappa: float) -> dict[str, float]:
    """Laguerre exponent and scales of HTMP(gamma, kappa) (MATH.md section 2.2).

    Returns ``alpha = kappa (1-gamma)/(2 gamma) - 1``, ``c = kappa/2`` and
    ``s = 2 gamma / kappa`` (Y = s X, X ~ nu_{alpha, c}).
    """
    gamma = float(check_param("gamma", gamma, 0.0, 1.0))
    kappa = float(check_param("kappa", kappa, 0.0))
    return {"alpha": kappa * (1.0 - gamma) / (2.0 * gamma) - 1.0,
            "c": kappa / 2.0, "s": 2.0 * gamma / kappa}


def htmp_tridiagonal(n: int, *, gamma: float, kappa: float, rng=None) -> SymTridiagonal:
    """Tridiagonal ``s T`` (T beta-Laguerre, beta = kappa/n, exponent alpha) of size n.

    Its ESD tends to the standardised HTMP(gamma, kappa); use it with
    :meth:`SymTridiagonal.histogram` / :meth:`SymTridiagonal.cdf` for n up to 1e7.
    """
    n = check_positive_int("n", n)
    p = htmp_parameters(gamma, kappa)
    t = beta_laguerre_tridiagonal(n, beta=float(kappa) / n, alpha=p["alpha"], rng=rng)
    return t.scaled(p["s"])


def htmp_eigvals(n: int, *, gamma: float, kappa: float, rng=None) -> np.ndarray:
    """n eigenvalues (ascending) whose ESD tends to the standardised HTMP(gamma, kappa).

    beta-Laguerre with ``beta = kappa / n`` (so ``beta n = 2c``), exponent
    ``alpha = kappa (1-gamma)/(2 gamma) - 1``, eigenvalues multiplied by
    ``s = 2 gamma / kappa``.  At finite n the mean eigenvalue has expectation
    ``1 - gamma / n`` exactly.  gamma in (0, 1), kappa > 0.
    """
    return htmp_tridiagonal(n, gamma=gamma, kappa=kappa, rng=rng).eigvals()


def inverse_wishart_eigvals(n: int, *, a: float, b: float = 1.0, kappa: float,
                            rng=None) -> np.ndarray:
    """Exact eigenvalues (ascending) of the high-temperature inverse-Wishart ensemble (4.1).

    Joint density ``prod lambda_i^{-a} e^{-b/lambda_i} prod_{i<j}|lambda_i-lambda_j|^{kappa/n}``.
    ``x = b/lambda`` is beta-Laguerre with ``beta = kappa/n`` and
    ``alpha_L = a - 2 - kappa (n-1)/n``, which must be > -1, i.e.
    ``a > 1 + kappa (n-1)/n``.
    """
    n = check_positive_int("n", n)
    kappa = float(check_param("kappa", kappa, 0.0))
    b = float(check_param("b", b, 0.0))
    lower = 1.0 + kappa * (n - 1) / n
    a = float(check_param(f"a (Laguerre constraint a > 1 + kappa (n-1)/n = {lower:.6g})",
                          a, lower))
    alpha_l = a - 2.0 - kappa * (n - 1) / n
    x = beta_laguerre_tridiagonal(n, beta=kappa / n, alpha=alpha_l, rng=rng).eigvals()
    return (b / x)[::-1].copy()


def master_model_eigvals(n: int, *, gamma: float, kappa: float, sigma=None, b: float = 1.0,
                         rng=None, standardize: bool = True) -> np.ndarray:
    """Eigenvalues (ascending) of the Master-Model ensemble targeting InverseHTMP(gamma, kappa).

    Samples (4.1) with ``a = kappa (1-gamma)/(2 gamma) + 1 + kappa (n-1)/n``
    (MATH.md section 5) and returns the eigenvalues of ``(kappa/(2 gamma b)) M``,
    whose ESD tends to InverseHTMP(gamma, kappa) (mean of 1/T is ``1 - gamma/n``
    exactly).  This standardisation cancels ``b``; pass ``standardize=False`` for
    the eigenvalues of M itself (which scale with b).

    With ``sigma`` (the n eigenvalues of a covariance Sigma, all >= 0) the
    eigenvalues of ``Sigma^{1/2} M Sigma^{1/2}`` are returned, with M rotated by
    a Haar orthogonal matrix.  That step is dense: O(n^2) memory and O(n^3)
    time, so keep n below a few thousand.
    """
    n = check_positive_int("n", n)
    p = htmp_parameters(gamma, kappa)
    b = float(check_param("b", b, 0.0))
    a = p["alpha"] + 2.0 + float(kappa) * (n - 1) / n
    if sigma is not None:
        sigma = check_param("sigma", sigma, 0.0, np.inf, "right-open")
        if sigma.shape != (n,):
            raise ValueError(f"sigma must be a 1-D array of the n={n} eigenvalues of Sigma, "
                             f"got shape {sigma.shape}")
    rng = np.random.default_rng(rng)
    lam = inverse_wishart_eigvals(n, a=a, b=b, kappa=kappa, rng=rng)
    if standardize:
        lam = lam / (p["s"] * b)          # kappa / (2 gamma b) * M
    if sigma is None:
        return lam
    o = haar_orthogonal(n, rng=rng)
    x = np.sqrt(sigma)[:, None] * (o * np.sqrt(lam))  # Sigma^{1/2} O diag(lam)^{1/2}
    return np.linalg.eigvalsh(x @ x.T)
