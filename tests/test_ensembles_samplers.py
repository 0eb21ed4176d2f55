"""HTMP and Master-Model samplers against exact identities, an independent density, MP and the laws.

Reference density: nu_{alpha,c} of MATH.md section 2.1, evaluated by route (i) of
section 3 (two real scipy ``hyp1f1`` values, relative error <= 3e-12 for the
moderate, non-integer-alpha parameters used here) and integrated with
``scipy.integrate.quad``; its total mass is checked to 1e-10 below.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, interpolate, special, stats

from htmp.ensembles import (
    beta_laguerre_eigvals,
    haar_orthogonal,
    htmp_eigvals,
    htmp_parameters,
    htmp_tridiagonal,
    inverse_wishart_eigvals,
    master_model_eigvals,
)

N, REPS = 4000, 3
# (gamma, kappa) -> alpha = 0.5, -0.5, 1.25, 1/6, 1/3 (route (i) needs non-integer alpha)
PARAMS = [(0.25, 1.0), (0.5, 1.0), (0.4, 3.0), (0.3, 1.0), (0.6, 4.0)]


def nu_pdf(x, alpha, c):
    """Trinh-Trinh density x^a e^-x / (G(c+1) G(c+a+1) |U(c,-a,x e^{-i pi})|^2), route (i)."""
    x = np.asarray(x, dtype=float)
    lg = special.gammaln
    im = np.pi * np.exp((1 + alpha) * np.log(x) - lg(c) - lg(alpha + 2)) \
        * special.hyp1f1(c + alpha + 1, 2 + alpha, -x)
    re = np.exp(lg(1 + alpha) - lg(c + alpha + 1)) * special.hyp1f1(c, -alpha, -x) \
        - im / np.tan(np.pi * alpha)
    return np.exp(alpha * np.log(x) - x - lg(c + 1) - lg(c + alpha + 1)) / (re * re + im * im)


def htmp_reference_cdf(gamma, kappa, knots=300):
    """CDF of the standardised HTMP(gamma, kappa): quad between knots + monotone interpolation."""
    p = htmp_parameters(gamma, kappa)
    alpha, c, s = p["alpha"], p["c"], p["s"]
    top = alpha + 2 * c + 1
    xs = (top + 15 * np.sqrt(top) + 40) * np.linspace(0, 1, knots + 1) ** 2
    pieces = [integrate.quad(nu_pdf, xs[i], xs[i + 1], args=(alpha, c), epsabs=1e-14,
                             epsrel=1e-12, limit=200)[0] for i in range(knots)]
    cum = np.concatenate([[0.0], np.cumsum(pieces)])
    assert cum[-1] == pytest.approx(1.0, abs=1e-10)    # the density integrates to 1
    return interpolate.PchipInterpolator(xs * s, cum, extrapolate=False)


def _pooled(sampler, gamma, kappa, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([sampler(N, gamma=gamma, kappa=kappa, rng=rng) for _ in range(REPS)])


def _mean_z(values, gamma, kappa):
    # mean eigenvalue of s T: expectation 1 - gamma/n, variance s (1 - gamma/n) / n exactly
    # (tr T is a sum of independent Gamma variables whose shapes add up to E tr T)
    s = htmp_parameters(gamma, kappa)["s"]
    means = values.reshape(REPS, N).mean(axis=1)
    mu = 1 - gamma / N
    return (means.mean() - mu) / np.sqrt(s * mu / N / REPS)


@pytest.mark.parametrize("gamma,kappa", PARAMS)
def test_htmp_eigvals_match_reference_density(gamma, kappa):
    y = _pooled(htmp_eigvals, gamma, kappa, seed=100)
    cdf = htmp_reference_cdf(gamma, kappa)
    assert stats.kstest(y, cdf).statistic < 0.012
    # power check: the law with kappa 30% off is rejected by the same statistic
    assert stats.kstest(y, htmp_reference_cdf(gamma, 1.3 * kappa)).statistic > 0.014
    assert abs(_mean_z(y, gamma, kappa)) < 4.5
    assert y.var() == pytest.approx(gamma * (1 + 2 / kappa), rel=0.04)     # MATH.md 2.2


@pytest.mark.parametrize("gamma,kappa", PARAMS)
def test_master_model_matches_inverse_reference(gamma, kappa):
    t = _pooled(master_model_eigvals, gamma, kappa, seed=200)
    cdf = htmp_reference_cdf(gamma, kappa)
    assert stats.kstest(t, lambda v: 1.0 - cdf(1.0 / v)).statistic < 0.012
    wrong = htmp_reference_cdf(gamma, 1.3 * kappa)
    assert stats.kstest(t, lambda v: 1.0 - wrong(1.0 / v)).statistic > 0.014
    assert abs(_mean_z(1.0 / t, gamma, kappa)) < 4.5                      # E[1/T] = 1


def test_extreme_heavy_tail_is_positive_and_finite():
    # alpha = -0.95: x reaches ~1e-80, T = 1/(s x) ~1e80; needs relatively accurate x (dqds)
    gamma, kappa = 0.5, 0.1
    t = _pooled(master_model_eigvals, gamma, kappa, seed=600)
    assert np.all(np.isfinite(t)) and np.all(t > 0) and t.max() > 1e40
    assert abs(_mean_z(1.0 / t, gamma, kappa)) < 4.5
    y = htmp_eigvals(N, gamma=gamma, kappa=kappa, rng=1)
    assert np.all(y > 0) and np.all(np.diff(y) >= 0)


def test_master_model_mean_of_t():
    # E[T] = 1/(s alpha) (MATH.md section 4); alpha = 1.25 gives a finite variance
    gamma, kappa = 0.4, 3.0
    p = htmp_parameters(gamma, kappa)
    t = _pooled(master_model_eigvals, gamma, kappa, seed=300)
    assert t.mean() == pytest.approx(1 / (p["s"] * p["alpha"]), rel=0.05)


def test_exact_second_moment_tends_to_closed_form():
    # s^2 E tr T^2 / n from the Gamma shapes -> m2 = 1 + gamma + 2 gamma/kappa (MATH.md 2.2)
    for gamma, kappa in [(0.25, 1.0), (0.6, 4.0), (0.5, 0.1)]:
        p = htmp_parameters(gamma, kappa)
        n = 10**6
        beta = kappa / n
        k = p["alpha"] + 1 + beta * np.arange(n - 1, -1, -1) / 2
        h = beta * np.arange(n - 1, 0, -1) / 2
        md = k.copy()
        md[1:] += h
        m2 = p["s"] ** 2 * ((md + md**2).sum() + 2 * (k[:-1] * h).sum()) / n
        assert m2 == pytest.approx(1 + gamma + 2 * gamma / kappa, rel=1e-5)


def _mp_cdf(gamma):
    lo, hi = (1 - np.sqrt(gamma)) ** 2, (1 + np.sqrt(gamma)) ** 2

    def pdf(x):                         # MATH.md section 1, sigma^2 = 1
        return np.sqrt(max((hi - x) * (x - lo), 0.0)) / (2 * np.pi * gamma * x)

    xs = np.linspace(lo, hi, 801)
    cum = np.concatenate([[0.0], np.cumsum([integrate.quad(pdf, a, b)[0]
                                            for a, b in zip(xs[:-1], xs[1:])])])
    assert cum[-1] == pytest.approx(1.0, abs=1e-7)
    f = interpolate.PchipInterpolator(xs, cum)
    return lambda x: f(np.clip(x, lo, hi))


def test_large_kappa_tends_to_marchenko_pastur():
    gamma = 0.5
    mp = _mp_cdf(gamma)
    y = htmp_eigvals(N, gamma=gamma, kappa=1e4, rng=1)
    assert stats.kstest(y, mp).statistic < 0.01
    assert stats.kstest(htmp_eigvals(N, gamma=gamma, kappa=2.0, rng=1), mp).statistic > 0.05


def test_sigma_rotation_and_standardisation():
    n, gamma, kappa = 300, 0.5, 2.0
    base = master_model_eigvals(n, gamma=gamma, kappa=kappa, rng=7)
    same = master_model_eigvals(n, gamma=gamma, kappa=kappa, sigma=np.ones(n), rng=7)
    np.testing.assert_allclose(same, base, rtol=1e-8)
    doubled = master_model_eigvals(n, gamma=gamma, kappa=kappa, sigma=np.full(n, 2.0), rng=7)
    np.testing.assert_allclose(doubled, 2 * base, rtol=1e-8)
    sigma = np.repeat([1.0, 4.0], n // 2)
    rotated = master_model_eigvals(n, gamma=gamma, kappa=kappa, sigma=sigma, rng=7)
    # det(Sigma^1/2 M Sigma^1/2) = det(Sigma) det(M)
    assert np.log(rotated).sum() == pytest.approx(np.log(sigma).sum() + np.log(base).sum(),
                                                  rel=1e-9)
    assert not np.allclose(np.sort(rotated), np.sort(base * np.sort(sigma)))
    raw = master_model_eigvals(n, gamma=gamma, kappa=kappa, b=3.0, rng=7, standardize=False)
    np.testing.assert_allclose(raw, base * htmp_parameters(gamma, kappa)["s"] * 3.0, rtol=1e-12)


def test_inverse_wishart_is_b_over_laguerre():
    n, a, b, kappa = 200, 5.0, 2.5, 1.5
    lam = inverse_wishart_eigvals(n, a=a, b=b, kappa=kappa, rng=3)
    x = beta_laguerre_eigvals(n, beta=kappa / n, alpha=a - 2 - kappa * (n - 1) / n, rng=3)
    np.testing.assert_allclose(lam, np.sort(b / x), rtol=1e-12)
    assert np.all(np.diff(lam) >= 0)


def test_htmp_tridiagonal_scales_the_laguerre_matrix():
    t = htmp_tridiagonal(1000, gamma=0.3, kappa=2.0, rng=4)
    np.testing.assert_allclose(t.eigvals(), htmp_eigvals(1000, gamma=0.3, kappa=2.0, rng=4))


def test_haar_orthogonal():
    rng = np.random.default_rng(0)
    q = haar_orthogonal(5, size=4000, rng=rng)
    np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(5), q.shape),
                               atol=1e-12)
    tr = np.trace(q, axis1=-2, axis2=-1)
    # Haar on O(n): E tr Q = 0, E (tr Q)^2 = 1 (n >= 2)
    assert abs(tr.mean()) < 4.5 / np.sqrt(4000)
    assert (tr**2).mean() == pytest.approx(1.0, abs=0.1)
    raw = np.linalg.qr(rng.standard_normal((4000, 5, 5)))[0]       # no sign fix: not Haar
    assert abs(np.trace(raw, axis1=-2, axis2=-1).mean()) > 10 / np.sqrt(4000)
    assert haar_orthogonal(3, rng=1).shape == (3, 3)


@pytest.mark.parametrize("call,match", [
    (lambda: htmp_eigvals(0, gamma=0.5, kappa=1.0), r"n must be an integer >= 1, got 0"),
    (lambda: htmp_eigvals(10, gamma=1.0, kappa=1.0), r"gamma must be finite and in \(0, 1\), got 1.0"),
    (lambda: htmp_eigvals(10, gamma=0.5, kappa=0.0), r"kappa must be finite and in \(0, inf\), got 0.0"),
    (lambda: master_model_eigvals(10, gamma=0.5, kappa=1.0, b=-1.0), r"b must be finite and in \(0, inf\)"),
    (lambda: master_model_eigvals(3, gamma=0.5, kappa=1.0, sigma=[1.0, np.nan, 1.0]), r"sigma must be finite and in \[0, inf\)"),
    (lambda: master_model_eigvals(3, gamma=0.5, kappa=1.0, sigma=[1.0, 1.0]), r"sigma must be a 1-D array of the n=3"),
    (lambda: inverse_wishart_eigvals(10, a=1.5, kappa=1.0), r"a \(Laguerre constraint a > 1 \+ kappa \(n-1\)/n = 1.9\) must be finite and in \(1.9, inf\), got 1.5"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------------------
# Against the laws of htmp.laws (written by another engineer): skipped until they exist.
# The power of the KS < 0.012 criterion (kappa 30% off gives KS > 0.014) is shown above
# against the independent reference density; it is not repeated here (each law costs ~2 s).
def _laws():
    try:
        from htmp.laws import HTMP, InverseHTMP
    except ImportError as exc:          # pragma: no cover - depends on the checkout
        pytest.skip(f"htmp.laws.HTMP / InverseHTMP not importable yet: {exc}")
    return HTMP, InverseHTMP


def _bin_ratios(sample, law, nbins=5):
    # equal-probability bins; ~2400 eigenvalues each, iid-like sd of a ratio ~0.02
    edges = law.ppf(np.linspace(0, 1, nbins + 1)[1:-1])
    counts = np.bincount(np.searchsorted(edges, sample), minlength=nbins)
    return counts / sample.size * nbins


@pytest.mark.parametrize("gamma,kappa", [(0.25, 1.0), (0.5, 2.0), (0.6, 4.0)])
def test_htmp_eigvals_against_law(gamma, kappa):
    HTMP, _ = _laws()
    law = HTMP(gamma=gamma, kappa=kappa)
    y = _pooled(htmp_eigvals, gamma, kappa, seed=400)
    assert stats.kstest(y, law.cdf).statistic < 0.012
    np.testing.assert_allclose(_bin_ratios(y, law), 1.0, atol=0.06)


@pytest.mark.parametrize("gamma,kappa", [(0.3, 1.0), (0.5, 2.0), (0.6, 4.0)])
def test_master_model_against_law(gamma, kappa):
    _, InverseHTMP = _laws()
    law = InverseHTMP(gamma=gamma, kappa=kappa)
    t = _pooled(master_model_eigvals, gamma, kappa, seed=500)
    assert stats.kstest(t, law.cdf).statistic < 0.012
    np.testing.assert_allclose(_bin_ratios(t, law), 1.0, atol=0.06)
