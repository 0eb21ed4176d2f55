"""Prop 5.1: the scaling law of ridge regression on HTMP features (../shared/spec/MATH.md §8).

Ridge regression without label noise, isotropic target ``theta* ~ N(0, I/p)`` and isotropic test
covariance has the test loss (MATH.md §8, our reconstruction of the paper's C.3)

    L(mu) = mu^2 theta*^T (S + mu)^-2 theta*  ->  mu^2 m'(-mu),   m'(-mu) = integral dF(x) / (x + mu)^2,

where F is the limiting spectral law of the feature matrix S.  With ``mu = n^-ell`` the paper
states ``L ~ n^-ell (2 + kappa/(2 gamma) - kappa/2)`` (:func:`paper_exponent`).  The loss above
gives instead ``L ~ mu^min(alpha + 1, 2)`` for an HTMP spectrum (density ~ y^alpha at 0,
alpha + 1 = kappa/(2 gamma) - kappa/2) and ``mu^2`` for an inverse-HTMP spectrum
(:func:`predicted_exponent`); the two differ by exactly ``2 ell`` (MATH.md §8 records the
discrepancy; docs/scaling.md has the measurements).

* :func:`paper_exponent` - the exponent as the paper states it.
* :func:`predicted_exponent` - ``ell * min(alpha + 1, 2)`` (HTMP) or ``2 ell`` (inverse HTMP).
* :func:`ridge_loss_theory` - ``mu^2 m'(-mu)`` by quadrature of the law's density.
* :func:`simulate_ridge` - the loss of one ridge regression on ``p`` eigenvalues drawn from the law.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_param, check_positive_int
from ..laws import HTMP, InverseHTMP

__all__ = ["LAWS", "paper_exponent", "predicted_exponent", "ridge_loss_theory", "simulate_ridge"]

LAWS = ("htmp", "inverse_htmp")

_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_PANEL = 0.125          # starting panel width in log x
_RTOL = 1e-12           # per-panel relative accuracy of the density's mass
_MAX_SPLITS = 24        # a panel is halved at most this many times
_LOW = 1e-12            # the grid starts at _LOW * min(mu); the mass below it is F(x_lo)/mu^2
_TAIL = 1e-18           # the grid ends at the law's isf(_TAIL) (capped at _XMAX: 1/x^2 stays finite)
_XMAX = 1e150


def _law(law: str, gamma, kappa):
    if law not in LAWS:
        raise ValueError(f"law must be one of {LAWS}, got {law!r}")
    gamma = float(check_param("gamma", gamma, 0.0, 1.0, "open"))
    kappa = float(check_param("kappa", kappa, 0.0, np.inf, "open"))
    return (HTMP if law == "htmp" else InverseHTMP)(gamma=gamma, kappa=kappa)


def _check_ell(ell) -> np.ndarray:
    return check_param("ell", ell, 0.0, 1.0, "open")


def paper_exponent(gamma, kappa, ell):
    """The exponent of Prop 5.1 as the paper states it: ``ell (2 + kappa/(2 gamma) - kappa/2)``.

    ``L ~ n^-exponent`` with ridge ``mu = n^-ell``.  ``gamma`` in (0, 1], ``kappa`` > 0,
    ``ell`` in (0, 1); arrays broadcast.  This is ``ell (alpha + 3)`` with alpha the Laguerre
    exponent of HTMP; it does not depend on which law the features follow.  MATH.md §8 finds
    it does not reproduce: see :func:`predicted_exponent`.
    """
    gamma = check_param("gamma", gamma, 0.0, 1.0, "left-open")
    kappa = check_param("kappa", kappa, 0.0, np.inf, "open")
    ell = _check_ell(ell)
    return (ell * (2.0 + kappa / (2.0 * gamma) - kappa / 2.0))[()]


def predicted_exponent(gamma, kappa, ell, law: str = "htmp"):
    """Exponent of ``L ~ n^-exponent`` implied by ``L(mu) = mu^2 m'(-mu)``, ``mu = n^-ell``.

    ``law="htmp"``: ``ell * min(kappa/(2 gamma) - kappa/2, 2)`` - near 0 the HTMP density is
    ~ y^alpha with alpha + 1 = kappa/(2 gamma) - kappa/2 (MATH.md §2.7), so
    ``m'(-mu) ~ mu^(alpha - 1)`` when alpha < 1 and tends to E[1/Y^2] when alpha > 1.  At
    alpha = 1 exactly the loss is ``mu^2 log(1/mu)`` (exponent 2 ell up to the logarithm).
    ``law="inverse_htmp"``: ``2 ell`` - the inverse law vanishes like exp(-rate/t) at 0, so
    E[1/T^2] is finite.  ``gamma`` in (0, 1), ``kappa`` > 0, ``ell`` in (0, 1); arrays broadcast.
    """
    if law not in LAWS:
        raise ValueError(f"law must be one of {LAWS}, got {law!r}")
    gamma = check_param("gamma", gamma, 0.0, 1.0, "open")
    kappa = check_param("kappa", kappa, 0.0, np.inf, "open")
    ell = _check_ell(ell)
    if law == "inverse_htmp":
        rate = np.broadcast_to(2.0, np.broadcast_shapes(gamma.shape, kappa.shape))
    else:
        rate = np.minimum(kappa / (2.0 * gamma) - kappa / 2.0, 2.0)
    return (ell * rate)[()]


def _rule(law, a: np.ndarray, b: np.ndarray):
    """20-point Gauss-Legendre nodes s and weighted values pdf(e^s) e^s w on panels [a, b]."""
    half = 0.5 * (b - a)
    s = 0.5 * (a + b)[:, None] + half[:, None] * _GL_X[None, :]
    x = np.exp(s)
    return s, law.pdf(x) * x * (half[:, None] * _GL_W[None, :])


def _mass_panels(law, s0: float, s1: float, mu_min: float):
    """Gauss-Legendre nodes and weighted density values in s = log x on [s0, s1].

    Panels of width <= ``_PANEL`` are halved until a 20-point rule on the panel and on its two
    halves agree on the mass ``integral pdf(e^s) e^s ds`` to ``_RTOL`` (relative) or to an
    absolute error that costs every integral at most 1e-16 of itself: a panel starting at x_a
    weighs at most 1/(x_a + mu)^2, and the integral is at least 0.5/(median + mu)^2.  The
    halves' nodes are returned.  The kernel 1/(x + mu)^2 varies by at most a factor e^0.25 over
    a panel, so resolving the density resolves the integrand.
    """
    med = float(law.ppf(0.5))
    n = max(1, math.ceil((s1 - s0) / _PANEL))
    edges = np.linspace(s0, s1, n + 1)
    a, b = edges[:-1], edges[1:]
    nodes, values = [], []
    for _ in range(_MAX_SPLITS + 1):
        mid = 0.5 * (a + b)
        whole = _rule(law, a, b)[1].sum(axis=1)
        s, g = _rule(law, np.concatenate([a, mid]), np.concatenate([mid, b]))
        halves = g[:len(a)].sum(axis=1) + g[len(a):].sum(axis=1)
        atol = 0.5e-16 * ((np.exp(a) + mu_min) / (med + mu_min)) ** 2
        ok = np.abs(whole - halves) <= np.maximum(_RTOL * np.abs(halves), atol)
        keep = np.concatenate([ok, ok])
        nodes.append(s[keep].ravel())
        values.append(g[keep].ravel())
        a, b = np.concatenate([a[~ok], mid[~ok]]), np.concatenate([mid[~ok], b[~ok]])
        if a.size == 0:
            return np.concatenate(nodes), np.concatenate(values)
    raise RuntimeError(f"the density of {law!r} was not resolved after {_MAX_SPLITS} halvings "
                       "of a panel")


def _mprime(law, mu: np.ndarray) -> np.ndarray:
    """m'(-mu) = integral dF(x)/(x + mu)^2 for every mu > 0 (one density evaluation for all)."""
    x_lo = _LOW * float(np.min(mu))
    x_hi = float(law.isf(_TAIL))
    x_hi = _XMAX if not np.isfinite(x_hi) else min(max(x_hi, 2.0 * x_lo), _XMAX)
    s, gw = _mass_panels(law, math.log(x_lo), math.log(x_hi), float(np.min(mu)))
    x = np.exp(s)
    body = np.array([np.sum(gw / (x + m) ** 2) for m in mu.ravel()]).reshape(mu.shape)
    # below x_lo: F(x_lo)/(x_lo+mu)^2 <= piece <= F(x_lo)/mu^2, relative spread 2e-12
    low = float(law.cdf(x_lo)) / mu ** 2
    # above x_hi: 0 <= piece <= sf(x_hi)/(x_hi + mu)^2 (at most 1e-18 of the mass); midpoint
    high = 0.5 * float(law.sf(x_hi)) / (x_hi + mu) ** 2
    return body + low + high


def ridge_loss_theory(mu, *, gamma, kappa, law: str = "htmp"):
    """Limiting ridge test loss ``L(mu) = mu^2 m'(-mu)`` for features with spectral law ``law``.

    Parameters
    ----------
    mu : float or array_like
        Ridge parameter(s), > 0.
    gamma, kappa : float
        Parameters of the standardised law (mean 1 for HTMP): ``gamma`` in (0, 1), ``kappa`` > 0
        (limits as in :class:`htmp.HTMP`).
    law : {"htmp", "inverse_htmp"}
        Spectral law F of the feature matrix S.

    Returns
    -------
    float or ndarray
        ``mu^2 integral dF(x)/(x + mu)^2``, in (0, 1), increasing in ``mu`` and -> 1 as mu -> inf.

    Notes
    -----
    The integral is computed in log x by adaptive Gauss-Legendre on the law's density (one
    density evaluation serves every ``mu``), plus the mass below ``1e-12 min(mu)`` taken from the
    CDF.  The tests compare it with mpmath at 40-60 digits (closed forms through U(a, b, x) and
    quadrature of the density); the agreement is ~1e-14 relative.
    """
    dist = _law(law, gamma, kappa)
    mu = check_param("mu", mu, 0.0, np.inf, "open")
    return (mu ** 2 * _mprime(dist, np.atleast_1d(mu)).reshape(mu.shape))[()]


def ridge_loss(eigenvalues: np.ndarray, theta: np.ndarray, mu) -> np.ndarray:
    """``mu^2 theta^T (S + mu)^-2 theta`` in the eigenbasis of S, for each ``mu``.

    This is ``||theta_hat - theta||^2`` for the noise-free ridge estimator
    ``theta_hat = (S + mu)^-1 S theta`` (isotropic test covariance).
    """
    mu = np.atleast_1d(mu)
    t2 = theta ** 2
    return np.array([float(np.sum(t2 * (m / (eigenvalues + m)) ** 2)) for m in mu])


def simulate_ridge(n: int, *, gamma, kappa, ell, law: str = "htmp", p: int | None = None, rng=None):
    """Test loss of one noise-free ridge regression whose feature spectrum is drawn from ``law``.

    ``p`` feature eigenvalues are drawn iid from the law (HTMP or inverse HTMP with ``gamma``,
    ``kappa``), the target is ``theta* ~ N(0, I/p)``, the ridge is ``mu = n^-ell`` and the loss
    is ``||theta_hat - theta*||^2`` with ``theta_hat = (S + mu)^-1 S theta*`` (the ridge estimator
    on noise-free labels, written in the eigenbasis of S; the isotropic target makes the
    eigenvectors irrelevant).

    Parameters
    ----------
    n : int
        Number of samples, >= 1.  It sets the ridge ``mu = n^-ell`` and, by default, ``p``.
    gamma, kappa : float
        Parameters of the law (``gamma`` in (0, 1), ``kappa`` > 0).
    ell : float or array_like
        Ridge exponent(s) in (0, 1).  An array gives one loss per ``ell`` on the same draw.
    law : {"htmp", "inverse_htmp"}
        Law of the feature eigenvalues.
    p : int, optional
        Number of features; default ``max(1, round(gamma * n))`` (the feature matrix is p x n
        with aspect ratio gamma).
    rng : anything :func:`numpy.random.default_rng` accepts
        Source of randomness.

    Returns
    -------
    float or ndarray
        The test loss (one per ``ell``).
    """
    n = check_positive_int("n", n)
    dist = _law(law, gamma, kappa)
    ell = _check_ell(ell)
    p = max(1, round(float(dist.params["gamma"]) * n)) if p is None else check_positive_int("p", p)
    rng = np.random.default_rng(rng)
    eigs = dist.rvs(p, rng=rng)
    theta = rng.standard_normal(p) / math.sqrt(p)
    mu = float(n) ** (-ell.ravel())
    return ridge_loss(eigs, theta, mu).reshape(ell.shape)[()]
