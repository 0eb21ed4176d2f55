"""Batched samples of the variational family q_kappa and its statistic T (MATH.md 6.2).

``q_kappa(lambda) ∝ prod_i lambda_i^alpha_L e^{-lambda_i} prod_{i<j} |lambda_i - lambda_j|^{kappa/N}``
is beta-Laguerre with ``beta = kappa / N``.  We draw it with the Dumitriu-Edelman bidiagonal model
(``a_DE = alpha_L + 1 + beta (N-1)/2``, eigenvalues of ``B B^T / 2``) for a whole batch at once:
the Gamma variables of all samples are drawn in one call, then each tridiagonal goes through
LAPACK ``dsterf`` (the same model as :func:`htmp.ensembles.beta_laguerre_tridiagonal`, which is
the plain reference implementation the tests compare against).

``T(lambda) = (1/N) sum_{i<j} log|lambda_i - lambda_j|`` is computed with one vectorised
pass over the N-1 shifted differences (all samples at once).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

__all__ = ["sample_q_kappa", "log_pair_sum", "statistic_t"]



def sample_q_kappa(n_samples: int, n: int, *, kappa: float, alpha_l: float,
                   rng: np.random.Generator) -> np.ndarray:
    """``(n_samples, n)`` sorted samples of q_kappa (beta-Laguerre, beta = kappa/n, alpha = alpha_l).

    No validation (internal): ``kappa > 0``, ``alpha_l > -1``.
    """
    beta = kappa / n
    k = np.arange(n - 1, -1, -1, dtype=float)                   # n-1-i
    g = rng.standard_gamma(np.broadcast_to((alpha_l + 1.0) + beta * k / 2.0, (n_samples, n)))
    h = rng.standard_gamma(np.broadcast_to(beta * k[:-1] / 2.0, (n_samples, n - 1)))
    diag = g.copy()
    diag[:, 1:] += h
    off = np.sqrt(g[:, :-1] * h)
    out = np.empty((n_samples, n))
    for s in range(n_samples):
        d, info = lapack.dsterf(diag[s], off[s])
        if info != 0:                                               # pragma: no cover
            raise RuntimeError(f"LAPACK dsterf failed with info={info}")
        out[s] = d
    out.sort(axis=1)
    return out


def log_pair_sum(lam: np.ndarray) -> np.ndarray:
    """``sum_{i<j} log|lam_i - lam_j|`` over the last axis of a 2-D array (rows = samples).

    Uses the N-1 shifted differences ``lam[:, k:] - lam[:, :-k]`` (no index arrays), i.e. every
    pair once; the order of the entries does not matter.
    """
    lam = np.asarray(lam, dtype=float)
    n = lam.shape[-1]
    out = np.zeros(lam.shape[:-1])
    with np.errstate(divide="ignore"):
        for k in range(1, n):
            out += np.log(np.abs(lam[..., k:] - lam[..., :-k])).sum(axis=-1)
    return out


def statistic_t(lam: np.ndarray) -> np.ndarray:
    """``T = (1/N) sum_{i<j} log|lambda_i - lambda_j|`` for each row of ``lam``."""
    lam = np.asarray(lam, dtype=float)
    return log_pair_sum(lam) / lam.shape[-1]
