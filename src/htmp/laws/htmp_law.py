"""HTMP_{gamma,kappa} and its inverse (MATH.md §2.2 and §4).

``HTMP(gamma=, kappa=, scale=)`` is the standardised high-temperature Marchenko-Pastur
law: Y = scale * s * X with X ~ nu_{alpha,c} and

    alpha = kappa (1 - gamma) / (2 gamma) - 1,   c = kappa / 2,   s = 2 gamma / kappa,

so that E[Y] = scale and HTMP -> MP_gamma (variance scale^2 gamma) as kappa -> inf.

``InverseHTMP(gamma=, kappa=, scale=)`` is the law of T = scale / Y_1 (Y_1 the standardised
HTMP): the spectrum of a trained feature matrix.  Its density has a power-law upper tail
t^-(alpha+2) (survival index ``tail_index`` = alpha + 1 = kappa/(2 gamma) - kappa/2) and an
inverse-Gamma edge t^-(alpha+2c+2) e^{-rate/t} at 0 (``edge_exponent``, ``edge_rate``).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_param
from ._base import Law, stieltjes_domain
from ._kummer import ALPHA_MAX, C_MAX
from .trinh_trinh import TrinhTrinh

__all__ = ["HTMP", "InverseHTMP", "KAPPA_MAX"]

# Largest kappa a law accepts (c = kappa/2 <= C_MAX: one table build stays below ~1.5 s).
# HTMP(gamma, kappa) is within O(1/kappa) of MP_gamma (sup |F - F_MP| ~ 0.5/kappa, MATH.md §2.2),
# so beyond it MarchenkoPastur is the law to use.
KAPPA_MAX = 2.0 * C_MAX


def raw_params(gamma, kappa):
    alpha = kappa * (1.0 - gamma) / (2.0 * gamma) - 1.0
    return alpha, kappa / 2.0, 2.0 * gamma / kappa


class _FromTrinhTrinh(Law):
    """A law that is a deterministic transform of nu_{alpha,c}."""

    _param_names = ("gamma", "kappa", "scale")

    def __init__(self, *, gamma, kappa, scale=1.0):
        gamma = check_param("gamma", gamma, 0.0, 1.0, "open")
        kappa = check_param("kappa", kappa, 0.0, np.inf, "open")
        if np.any(kappa > KAPPA_MAX):
            raise ValueError(f"kappa must be in (0, {KAPPA_MAX:g}], got {float(np.max(kappa))!r}: the "
                             "law's table takes O(kappa) steps; beyond this HTMP is within "
                             "~0.5/kappa (sup |F - F_MP|) of MarchenkoPastur(gamma) (use that)")
        alpha = raw_params(gamma, kappa)[0]
        if np.any(alpha > ALPHA_MAX):
            raise ValueError(f"kappa (1 - gamma) / (2 gamma) must be <= {ALPHA_MAX:g} (gamma too "
                             f"small for this kappa), got gamma={float(np.min(gamma))!r}, "
                             f"kappa={float(np.max(kappa))!r}")
        self._set_params(gamma=gamma, kappa=kappa,
                         scale=check_param("scale", scale, 0.0, np.inf, "open"))

    # The raw law, with flat parameter arrays.
    @staticmethod
    def _raw(p):
        alpha, c, s = raw_params(p["gamma"], p["kappa"])
        return TrinhTrinh(alpha=alpha, c=c), s * p["scale"]

    def _raw_public(self):
        alpha, c, s = raw_params(self._params["gamma"], self._params["kappa"])
        return alpha, c, s * self._params["scale"]

    @property
    def alpha(self):
        """Laguerre exponent alpha of the underlying nu_{alpha,c} (not WeightWatcher's alpha)."""
        return self._raw_public()[0][()]

    @property
    def c(self):
        """c = kappa/2 of the underlying nu_{alpha,c}."""
        return self._raw_public()[1][()]

    def _support(self, **p):
        return 0.0, np.inf


class HTMP(_FromTrinhTrinh):
    """Standardised high-temperature Marchenko-Pastur law HTMP(gamma, kappa), mean ``scale``.

    Parameters (keyword-only): ``gamma`` in (0, 1) (aspect ratio N/M), ``kappa`` in (0, 1e4]
    (eigenvalue repulsion), ``scale`` > 0 (sigma^2, the mean).

    >>> from htmp import HTMP
    >>> law = HTMP(gamma=0.5, kappa=2.0)
    >>> float(law.mean()), round(float(law.var()), 12)      # 1 and gamma (1 + 2/kappa)
    (1.0, 1.0)
    """

    def _logpdf(self, x, **p):
        raw, lam = self._raw(p)
        return raw._logpdf(x / lam, **raw._params) - np.log(lam)

    def _cdf(self, x, **p):
        raw, lam = self._raw(p)
        return raw._cdf(x / lam, **raw._params)

    def _sf(self, x, **p):
        raw, lam = self._raw(p)
        return raw._sf(x / lam, **raw._params)

    def _ppf(self, q, **p):
        raw, lam = self._raw(p)
        return raw._ppf(q, **raw._params) * lam

    def _isf(self, q, **p):
        raw, lam = self._raw(p)
        return raw._isf(q, **raw._params) * lam

    def _moment(self, k, **p):
        raw, lam = self._raw(p)
        return raw._moment(k, **raw._params) * lam ** k

    @stieltjes_domain
    def stieltjes(self, z):
        """G(z) = E[1/(z - Y)] for complex z off [0, inf); G_Y(z) = G_X(z/lam)/lam."""
        alpha, c, lam = self._raw_public()
        return TrinhTrinh(alpha=alpha, c=c).stieltjes(np.asarray(z) / lam) / lam

    @property
    def tail_exponent(self):
        """Density exponents: p(y) ~ y^alpha at 0 and y^(alpha+2c) e^{-y/lam} at infinity."""
        alpha, c, _ = self._raw_public()
        return alpha[()], (alpha + 2 * c)[()]


class InverseHTMP(_FromTrinhTrinh):
    """Law of T = scale / Y with Y ~ HTMP(gamma, kappa) standardised (MATH.md §4).

    Power-law upper tail: P(T > t) ~ C t^-``tail_index``, ``tail_index`` = kappa/(2 gamma) - kappa/2
    (the density exponent is tail_index + 1); inverse-Gamma edge at 0:
    rho(t) ~ t^-``edge_exponent`` exp(-``edge_rate``/t).  Moments E[T^k] are finite iff
    k < tail_index.
    """

    # T = lam / X with lam = scale / s
    @staticmethod
    def _lam(p):
        alpha, c, s = raw_params(p["gamma"], p["kappa"])
        return TrinhTrinh(alpha=alpha, c=c), p["scale"] / s

    def _logpdf(self, t, **p):
        raw, lam = self._lam(p)
        x = lam / t
        return raw._logpdf(x, **raw._params) + np.log(lam) - 2.0 * np.log(t)

    def _cdf(self, t, **p):
        raw, lam = self._lam(p)
        return raw._sf(lam / t, **raw._params)

    def _sf(self, t, **p):
        raw, lam = self._lam(p)
        return raw._cdf(lam / t, **raw._params)

    # Where X's quantile underflows to 0 (alpha near -1: e.g. 22% of the mass of
    # nu_{alpha,c} lies below 1e-300 at gamma=0.99, kappa=0.01) T = lam/X is inf: the honest
    # double-precision answer, returned without a warning.
    def _ppf(self, q, **p):
        raw, lam = self._lam(p)
        with np.errstate(divide="ignore", over="ignore"):
            return lam / raw._isf(q, **raw._params)

    def _isf(self, q, **p):
        raw, lam = self._lam(p)
        with np.errstate(divide="ignore", over="ignore"):
            return lam / raw._ppf(q, **raw._params)

    def _moment(self, k, **p):
        raw, lam = self._lam(p)
        out = np.empty(lam.shape)
        for i, (a, c, l) in enumerate(zip(raw._params["alpha"], raw._params["c"], lam)):
            if k == 1 and a > 0:
                out[i] = l / a                     # E[1/X] = 1/alpha (MATH.md §2.3)
            else:
                out[i] = l ** k * TrinhTrinh(alpha=a, c=c).inverse_moment(k)
        return out

    @stieltjes_domain
    def stieltjes(self, z):
        """G_T(z) = 1/z - (lam/z^2) G_X(lam/z), lam = scale/s.  z -> lam/z maps the upper
        half-plane to the lower one, so on the positive real axis (the boundary value from
        above, as every law returns it) G_X is taken from below: conj(G_X(lam/x + i0))."""
        alpha, c, s = raw_params(self._params["gamma"], self._params["kappa"])
        lam = self._params["scale"] / s
        z = np.asarray(z, dtype=complex)
        gx = TrinhTrinh(alpha=alpha, c=c).stieltjes(lam / z)
        gx = np.where((z.imag == 0) & (z.real > 0), np.conj(gx), gx)
        return (1.0 / z - lam / z ** 2 * gx)[()]

    @property
    def tail_index(self):
        """Survival-function index alpha + 1 = kappa/(2 gamma) - kappa/2 of the power-law tail."""
        return (self._raw_public()[0] + 1.0)[()]

    @property
    def edge_exponent(self):
        """Exponent alpha + 2c + 2 = kappa/(2 gamma) + kappa/2 + 1 of the inverse-Gamma edge at 0."""
        alpha, c, _ = self._raw_public()
        return (alpha + 2 * c + 2)[()]

    @property
    def edge_rate(self):
        """Rate of the inverse-Gamma edge: scale * kappa / (2 gamma)."""
        g, k, sc = self._params["gamma"], self._params["kappa"], self._params["scale"]
        return (sc * k / (2 * g))[()]
