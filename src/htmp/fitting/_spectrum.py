"""Resolve (eigenvalues, gamma, N, M) from either an ESD result or a bare spectrum.

The fits work in units of ``2^e`` with ``e`` the exponent of the largest eigenvalue (then in
[1/2, 1)): dividing by a power of 2 is exact, so every fit of ``2^k x`` sees the same numbers
as that of ``x`` (scale-free results identical, scales multiplied by ``2^k`` exactly) and
nothing under- or overflows whatever the spectrum's scale in float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_param
from ._results import as_eigenvalues

__all__ = ["Spectrum", "resolve", "tolerance_in_units"]


@dataclass(frozen=True)
class Spectrum:
    """``x``, ``positive`` and ``tol`` are in units of ``2^unit`` (the largest x in [1/2, 1));
    :meth:`scale` and :meth:`loglik` turn results back into the units of the eigenvalues."""

    x: np.ndarray          # sorted, >= 0
    positive: np.ndarray   # the eigenvalues above the zero tolerance
    gamma: float | None
    N: int
    M: float | None
    n_zero: int
    tol: float = 0.0
    unit: int = 0

    def scale(self, v: float) -> float:
        """A scale (an eigenvalue, sigma^2, an edge) from the fit's units to the data's."""
        return float(np.ldexp(v, self.unit)) if math.isfinite(v) else float(v)

    def loglik(self, ll: float, n: int) -> float:
        """A log-likelihood of n eigenvalues (densities scale as 1/unit) in the data's units."""
        return ll - n * self.unit * math.log(2.0) if self.unit else ll

    def zero_note(self, censored: bool = False) -> str:
        """A message when most eigenvalues are numerically zero, else "".  ``censored``: the
        fit counts them as observations "<= tol" (HTMP fits); otherwise they were set
        aside and the fit describes only the rest."""
        if self.n_zero <= len(self.positive):
            return ""
        head = (f"{self.n_zero} of {len(self.x)} eigenvalues are <= the zero tolerance "
                f"{self.scale(self.tol):.3g}")
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
    unit = math.frexp(float(x[-1]))[1]
    x = np.ldexp(x, -unit)
    tol = tolerance_in_units(eigs, x, unit)
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
                         f"tolerance {math.ldexp(tol, unit):.3g}, got {len(positive)}")
    return Spectrum(x=x, positive=positive, gamma=gamma, N=N, M=M, n_zero=len(x) - len(positive),
                    tol=tol, unit=unit)


def tolerance_in_units(eigs, x: np.ndarray, unit: int) -> float:
    """The zero tolerance in units of 2^unit (``x``: the eigenvalues in those units).

    An ESD's ``tol`` (M eps lambda_max), else ``n eps max`` of the spectrum.  Computed in
    those units wherever the tolerance in the data's units is subnormal (it then carries
    fewer bits): the same number for every scale 2^k of the data.
    """
    eps = np.finfo(float).eps
    tol = getattr(eigs, "tol", None)
    if tol is None:
        return float(len(x) * eps * x[-1])
    if tol >= np.finfo(float).tiny or getattr(eigs, "M", None) is None:
        return float(np.ldexp(tol, -unit))
    return float(eigs.M * eps * x[-1])
