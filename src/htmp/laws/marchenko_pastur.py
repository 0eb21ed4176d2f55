"""Marchenko-Pastur law MP_{gamma, sigma^2} (MATH.md §1), with closed-form CDF.

Density on [x-, x+], x± = scale (1 ± sqrt(gamma))^2::

    p(x) = sqrt((x+ - x)(x - x-)) / (2 pi scale gamma x)

CDF.  With x = scale (m + d cos phi), m = 1 + gamma, d = 2 sqrt(gamma), phi in [0, pi]::

    P(X > x) = (2/pi) [ (1+gamma) phi / (4 gamma) - sin(phi) / (2 sqrt(gamma))
                        - (1-gamma)/(2 gamma) arctan(k tan(phi/2)) ],  k = (1-sqrt g)/(1+sqrt g)

(derived by partial fractions of sin^2 phi / (m + d cos phi); it equals 1 at phi = pi).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_param
from ._base import Law, stieltjes_domain

__all__ = ["MarchenkoPastur"]


class MarchenkoPastur(Law):
    """Marchenko-Pastur law: ``gamma`` in (0, 1] (N/M), ``scale`` = sigma^2 > 0 (the mean).

    >>> from htmp import MarchenkoPastur
    >>> law = MarchenkoPastur(gamma=0.25)
    >>> law.support()
    (0.25, 2.25)
    """

    _param_names = ("gamma", "scale")

    def __init__(self, *, gamma, scale=1.0):
        self._set_params(gamma=check_param("gamma", gamma, 0.0, 1.0, "left-open"),
                         scale=check_param("scale", scale, 0.0, np.inf, "open"))

    def _support(self, gamma, scale):
        r = np.sqrt(gamma)
        return scale * (1 - r) ** 2, scale * (1 + r) ** 2

    def _logpdf(self, x, gamma, scale):
        lo, hi = self._support(gamma, scale)
        return (0.5 * (np.log(hi - x) + np.log(x - lo))
                - np.log(2 * np.pi * scale * gamma * x))

    def _phi(self, x, gamma, scale):
        m, d = 1 + gamma, 2 * np.sqrt(gamma)
        return np.arccos(np.clip((x / scale - m) / d, -1.0, 1.0))

    def _sf_phi(self, phi, gamma):
        k = (1 - np.sqrt(gamma)) / (1 + np.sqrt(gamma))
        val = ((1 + gamma) * phi / (4 * gamma) - np.sin(phi) / (2 * np.sqrt(gamma))
               - (1 - gamma) / (2 * gamma) * np.arctan(k * np.tan(phi / 2)))
        return np.clip(2 / np.pi * val, 0.0, 1.0)

    def _sf(self, x, gamma, scale):
        return self._sf_phi(self._phi(x, gamma, scale), gamma)

    def _cdf(self, x, gamma, scale):
        # cdf via the mirror angle keeps precision near the lower edge
        return 1.0 - self._sf(x, gamma, scale)

    def _ppf(self, q, gamma, scale):
        return self._isf(1.0 - q, gamma, scale)

    def _isf(self, q, gamma, scale):
        # bisection on phi in [0, pi]: the survival function increases with phi
        lo = np.zeros_like(q)
        hi = np.full_like(q, np.pi)
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            above = self._sf_phi(mid, gamma) > q
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        phi = 0.5 * (lo + hi)
        return scale * (1 + gamma + 2 * np.sqrt(gamma) * np.cos(phi))

    def _moment(self, k, gamma, scale):
        # Narayana polynomials: m_k = scale^k sum_{r=0}^{k-1} gamma^r/(r+1) C(k,r) C(k-1,r)
        from scipy.special import comb  # lazy: scipy.special costs ~0.2 s to import
        r = np.arange(k)
        coef = comb(k, r) * comb(k - 1, r) / (r + 1)
        return scale ** k * np.polynomial.polynomial.polyval(gamma, coef)

    @stieltjes_domain
    def stieltjes(self, z):
        """G(z) = E[1/(z - X)] in closed form, the branch with G ~ 1/z at infinity."""
        z = np.asarray(z, dtype=complex)
        g, sc = self._params["gamma"], self._params["scale"]
        lo, hi = sc * (1 - np.sqrt(g)) ** 2, sc * (1 + np.sqrt(g)) ** 2
        root = np.sqrt(z - lo) * np.sqrt(z - hi)      # ~ z at infinity, cut on [lo, hi]
        return ((z - sc * (1 - g) - root) / (2 * g * sc * z))[()]
