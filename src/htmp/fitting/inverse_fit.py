"""Inverse-Gamma maximum-likelihood fit (MATH.md section 4) for feature-matrix spectra.

``g(x; a, b) = b^a / Gamma(a) x^(-a-1) exp(-b/x)``.  The MLE is the Gamma MLE applied
to ``1/x``: ``b = a / mean(1/x)`` where ``a`` solves
``log a - digamma(a) = log mean(1/x) + mean(log x)`` (right side >= 0 by Jensen),
solved by Newton from Minka's closed-form start, at most ``max_iter`` steps.
Standard errors: inverse of the observed (= expected) information of the Gamma
model for ``1/x``, ``n [[trigamma(a), -1/b], [-1/b, a/b^2]]``, in closed form:
``se(a)^2 = a / (n D)``, ``se(b)^2 = b^2 trigamma(a) / (n D)`` with ``D = a trigamma(a) - 1``
(> 0 for every a > 0; its series ``1/(2a) + 1/(6a^2) - 1/(30a^4)`` above a = 1e3, where
the difference cancels).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._results import FitResult, degenerate_note, fit_quality, ks_statistic
from ._spectrum import resolve

__all__ = ["InvGammaFit", "fit_invgamma"]


@dataclass(frozen=True)
class InvGammaFit(FitResult):
    """Result of :func:`fit_invgamma`: shape ``a``, scale ``b`` (density x^(-a-1) e^(-b/x))."""

    a: float
    a_se: float
    b: float
    b_se: float
    loglik: float
    ks: float
    n_used: int
    n_zero: int
    n_iter: int
    status: str = "ok"
    message: str = ""
    fit_quality: str = ""    # "good" / "poor": ks against its 95 % critical value at n_used

    @property
    def law(self):
        from scipy import stats  # scipy.stats costs ~0.3 s to import: only when asked
        return stats.invgamma(self.a, scale=self.b)


def _info_det(a: float, trigamma: float) -> float:
    """a trigamma(a) - 1 without cancellation (asymptotic series for large a)."""
    if a > 1e3:
        return 1.0 / (2 * a) + 1.0 / (6 * a * a) - 1.0 / (30 * a ** 4)
    return a * trigamma - 1.0


def fit_invgamma(eigs, *, max_iter: int = 100, rtol: float = 1e-12) -> InvGammaFit:
    """Fit the inverse-Gamma law to the positive eigenvalues (zeros are set aside)."""
    from scipy import special  # not at import time: `import htmp` stays light
    sp = resolve(eigs, need_gamma=False, min_size=2)
    x = sp.positive
    inv = 1.0 / x
    rhs = math.log(float(np.mean(inv))) + float(np.mean(np.log(x)))
    nan = math.nan
    if degenerate_note(x) or not rhs > 0:
        return InvGammaFit(nan, nan, nan, nan, nan, nan, len(x), sp.n_zero, 0, "failed",
                           degenerate_note(x) or f"log mean(1/x) + mean(log x) = {rhs:.3g} "
                                                 f"<= 0: all values equal")
    a = (3.0 - rhs + math.sqrt((rhs - 3.0) ** 2 + 24.0 * rhs)) / (12.0 * rhs)
    status, n_iter = "max-iter", max_iter
    for k in range(1, max_iter + 1):
        f = math.log(a) - special.digamma(a) - rhs
        fp = 1.0 / a - special.polygamma(1, a)
        step = f / fp
        a_new = a - step
        if a_new <= 0:
            a_new = a / 2.0
        if abs(a_new - a) <= rtol * a:
            a, status, n_iter = a_new, "ok", k
            break
        a = a_new
    b = a / float(np.mean(inv))
    n = len(x)
    tri = float(special.polygamma(1, a))
    d = n * _info_det(a, tri)
    ll = float(np.sum(a * math.log(b) - special.gammaln(a) - (a + 1) * np.log(x) - b * inv))
    ks = ks_statistic(x, special.gammaincc(a, b * inv))
    return InvGammaFit(a=float(a), a_se=math.sqrt(a / d), b=sp.scale(b),
                       b_se=sp.scale(b * math.sqrt(tri / d)), loglik=sp.loglik(ll, n),
                       ks=ks, fit_quality=fit_quality(ks, n),
                       n_used=n, n_zero=sp.n_zero, n_iter=n_iter, status=status,
                       message="; ".join(m for m in (
                           "" if status == "ok" else f"Newton did not converge in {max_iter} steps",
                           sp.zero_note()) if m))
