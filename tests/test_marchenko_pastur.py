"""Marchenko-Pastur law: closed-form CDF against quadrature, moments against the Narayana
numbers computed independently, random matrices against the law."""
import numpy as np
import pytest
from scipy import integrate, stats

from htmp import MarchenkoPastur


@pytest.mark.parametrize("gamma,scale", [(0.1, 1.0), (0.5, 2.0), (1.0, 0.7)])
def test_cdf_is_integral_of_pdf(gamma, scale):
    law = MarchenkoPastur(gamma=gamma, scale=scale)
    lo, hi = law.support()
    for x in np.linspace(lo, hi, 9)[1:-1]:
        val, err = integrate.quad(law.pdf, lo, x, epsabs=1e-14, epsrel=1e-13, limit=200)
        assert law.cdf(x) == pytest.approx(val, abs=1e-11)
    assert law.cdf(lo) == 0.0 and law.cdf(hi) == 1.0


def test_ppf_inverts_cdf_and_outside_values():
    law = MarchenkoPastur(gamma=0.3)
    q = np.linspace(0.001, 0.999, 50)
    np.testing.assert_allclose(law.cdf(law.ppf(q)), q, atol=1e-13)
    assert law.pdf(-1.0) == 0 and law.pdf(100.0) == 0
    assert np.isnan(law.ppf(1.5)) and np.isnan(law.ppf(-0.1))


def test_moments_are_narayana():
    g = 0.37
    law = MarchenkoPastur(gamma=g, scale=2.0)
    # MATH.md §1: m1 = s, m2 = s^2 (1+g), m3 = s^3 (1+3g+g^2)
    assert law.moment(2) == pytest.approx(4 * (1 + g))
    assert law.moment(3) == pytest.approx(8 * (1 + 3 * g + g**2))
    m4, _ = integrate.quad(lambda x: x**4 * law.pdf(x), *law.support())
    assert law.moment(4) == pytest.approx(m4, rel=1e-9)
    assert law.var() == pytest.approx(4 * g)


def test_stieltjes_closed_form_against_quadrature():
    law = MarchenkoPastur(gamma=0.5)
    for z in (3.0 + 0.5j, -1.0 + 0j, 1.0 + 0.1j, 1.0 - 0.1j):
        re = integrate.quad(lambda t: (law.pdf(t) / (z - t)).real, *law.support(), limit=200)[0]
        im = integrate.quad(lambda t: (law.pdf(t) / (z - t)).imag, *law.support(), limit=200)[0]
        assert law.stieltjes(z) == pytest.approx(re + 1j * im, rel=1e-8)


def test_wishart_eigenvalues_follow_mp():
    rng = np.random.default_rng(7)
    n, m = 400, 1600
    w = rng.standard_normal((n, m))
    eig = np.linalg.eigvalsh(w @ w.T / m)
    assert stats.kstest(eig, MarchenkoPastur(gamma=n / m).cdf).statistic < 0.03
