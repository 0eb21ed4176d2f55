"""Resolve (eigenvalues, gamma, N, M) from either an ESD result or a bare spectrum."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_param
from ._results import as_eigenvalues

__all__ = ["Spectrum", "resolve"]


@dataclass(frozen=True)
class Spectrum:
    x: np.ndarray          # sorted, >= 0
    positive: np.ndarray   # the eigenvalues above the zero tolerance
    gamma: float | None
    N: int
    M: float | None
    n_zero: int
    tol: float = 0.0

    def zero_note(self, censored: bool = False) -> str:
        """A message when most eigenvalues are numerically zero, else "".  ``censored``: the
        fit counts them as observations "<= tol" (HTMP fits); otherwise they were set
        aside and the fit describes only the rest."""
        if self.n_zero <= len(self.positive):
            return ""
        head = f"{self.n_zero} of {len(self.x)} eigenvalues are <= the zero tolerance {self.tol:.3g}"
        if censored:
            return f"{head}; the fit knows them only as below it (censored)"
        return f"{head} and were set aside; the fit describes the other {len(self.positive)} only"


def resolve(eigs, gamma=None, N=None, M=None, *, need_gamma=True, min_size=2) -> Spectrum:
    """Eigenvalues plus shape information.

    Priority: explicit ``gamma``/``N``/``M`` arguments, then the fields of an
    :class:`ESDResult`.  Without N, the number of eigenvalues is used; without M,
    ``M = N / gamma``.  Zeros are eigenvalues <= the ESD tolerance (or
    ``n * eps * max`` for a bare spectrum) and are set aside.
    """
    x = as_eigenvalues(eigs, min_size=min_size)
    tol = getattr(eigs, "tol", len(x) * np.finfo(float).eps * x[-1])
    if gamma is None:
        gamma = getattr(eigs, "gamma", None)
    if N is None:
        N = getattr(eigs, "N", None)
    if M is None:
        M = getattr(eigs, "M", None)
    if gamma is None and N is not None and M is not None:
        gamma = N / M
    if gamma is None and need_gamma:
        raise ValueError("gamma (aspect ratio N/M in (0, 1]) is required for a bare spectrum: "
                         "pass gamma=, or N= and M=, or the result of htmp.esd(W); got None")
    if gamma is not None:
        gamma = float(check_param("gamma", gamma, 0.0, 1.0, "left-open"))
    N = int(N) if N is not None else len(x)
    if M is None and gamma is not None:
        M = N / gamma
    positive = x[x > tol]
    if len(positive) < min_size:
        raise ValueError(f"eigs must hold at least {min_size} eigenvalues above the zero "
                         f"tolerance {tol:.3g}, got {len(positive)}")
    return Spectrum(x=x, positive=positive, gamma=gamma, N=N, M=M, n_zero=len(x) - len(positive),
                    tol=float(tol))
