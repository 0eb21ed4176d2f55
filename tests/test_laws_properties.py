"""Identities of the HTMP family checked as properties over the parameter domain.

Each check compares two independent computations: the CDF in the bulk comes from the
phase of U (MATH.md §2.6) while the pdf comes from |U|^2, so  cdf(b) - cdf(a) = int_a^b pdf
is a real test of both; moments are compared with the closed forms of MATH.md §2.2/§2.3.
"""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats

from htmp import HTMP, InverseHTMP, MarchenkoPastur, TrinhTrinh

GL_X, GL_W = np.polynomial.legendre.leggauss(40)

gammas = st.floats(0.02, 0.98)
kappas = st.floats(-1.5, 2.5).map(lambda e: float(10 ** e))   # 0.03 .. 316


def _integrate(f, a, b):
    """Composite Gauss-Legendre of f over consecutive intervals [a_i, b_i]."""
    a, b = np.asarray(a), np.asarray(b)
    half, mid = 0.5 * (b - a), 0.5 * (b + a)
    nodes = mid[:, None] + half[:, None] * GL_X[None, :]
    return half * (f(nodes.ravel()).reshape(nodes.shape) @ GL_W)


def _integrate_log(f, a, b):
    """Same, in u = log x (for densities like x^alpha, alpha near -1, over many decades)."""
    return _integrate(lambda u: f(np.exp(u)) * np.exp(u), np.log(a), np.log(b))


def _quantile_grid(law, n=400):
    q = np.concatenate([np.logspace(-12, -2, n // 4), np.linspace(0.01, 0.99, n // 2),
                        1 - np.logspace(-2, -12, n // 4)])
    return law.ppf(q)


@given(gamma=gammas, kappa=kappas)
def test_pdf_positive_integrates_to_cdf_increments(gamma, kappa):
    law = HTMP(gamma=gamma, kappa=kappa)
    x = np.unique(_quantile_grid(law))
    x = x[x > 1e-300]          # nothing is claimed below 1e-300 (see test_ppf_...)
    pdf = law.pdf(x)
    assert np.all(pdf >= 0) and np.all(np.isfinite(pdf))
    F = law.cdf(x)
    assert np.all(np.diff(F) >= 0), "cdf must be monotone"
    pieces = _integrate_log(law.pdf, x[:-1], x[1:])
    np.testing.assert_allclose(pieces, np.diff(F), rtol=1e-9, atol=1e-13)
    # total mass: inside the quantile grid plus both tails
    total = pieces.sum() + F[0] + law.sf(x[-1])
    assert abs(total - 1.0) < 1e-11


@given(gamma=gammas, kappa=kappas)
def test_ppf_inverts_cdf_and_isf_inverts_sf(gamma, kappa):
    law = HTMP(gamma=gamma, kappa=kappa)
    q = np.array([1e-12, 1e-9, 1e-6, 1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999])
    x = law.ppf(q)
    # for alpha near -1 the lowest quantiles lie below 1e-300 (e.g. 1e-360 at alpha = -0.97):
    # not representable in double precision, so nothing is claimed there
    q, x = q[x > 1e-300], x[x > 1e-300]
    np.testing.assert_allclose(law.cdf(x), q, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(law.ppf(law.cdf(x)), x, rtol=1e-8)
    xs = law.isf(q)
    np.testing.assert_allclose(law.sf(xs), q, rtol=1e-9, atol=1e-14)


@given(gamma=gammas, kappa=kappas)
def test_moments_match_closed_forms_and_quadrature(gamma, kappa):
    law = HTMP(gamma=gamma, kappa=kappa)
    # closed forms, MATH.md §2.2
    assert law.mean() == pytest.approx(1.0, rel=1e-13)
    assert law.var() == pytest.approx(gamma * (1 + 2 / kappa), rel=1e-12)
    m3 = 1 + 3 * gamma + gamma**2 + 6 * gamma / kappa + 6 * gamma**2 / kappa + 8 * gamma**2 / kappa**2
    assert law.moment(3) == pytest.approx(m3, rel=1e-12)
    # the series-division moments agree with quadrature of x^k pdf
    x = np.unique(np.concatenate([[1e-300], _quantile_grid(law), [law.isf(1e-16)]]))
    x = x[x >= 1e-300]         # below 1e-300 x^k pdf carries < 1e-300 of the moment
    for k in (1, 2, 4):
        num = _integrate_log(lambda t: np.exp(k * np.log(t) + law.logpdf(t)), x[:-1], x[1:]).sum()
        assert num == pytest.approx(law.moment(k), rel=1e-8)


@given(gamma=gammas, kappa=kappas, seed=st.integers(0, 2**32 - 1))
def test_seeded_rvs_pass_ks(gamma, kappa, seed):
    # With alpha + 1 = kappa (1 - gamma)/(2 gamma) below ~0.05 a visible share of the mass
    # lies below the smallest double (12% at gamma=0.875, kappa=0.03): those draws are 0.
    assume(kappa * (1 - gamma) / (2 * gamma) >= 0.05)
    law = HTMP(gamma=gamma, kappa=kappa)
    sample = law.rvs(2000, rng=seed)
    assert np.array_equal(sample, law.rvs(2000, rng=seed)), "same seed, same sample"
    assert stats.kstest(sample, law.cdf).pvalue > 1e-4


@pytest.mark.parametrize("gamma", [0.25, 0.5])
def test_large_kappa_approaches_mp(gamma):
    """sup|F - F_MP| = O(1/kappa) (MATH.md §2.2 table: 0.0040/0.0042 at kappa=100, 0.0004/0.0005 at 1000)."""
    mp = MarchenkoPastur(gamma=gamma)
    lo, hi = mp.support()
    y = np.linspace(1e-3, 4.0, 4001)
    dists = []
    for kappa in (10.0, 100.0, 1000.0):
        d = np.max(np.abs(HTMP(gamma=gamma, kappa=kappa).cdf(y) - mp.cdf(y)))
        dists.append(d)
    assert dists[0] > dists[1] > dists[2]
    assert dists[1] < 0.005 and dists[2] < 6e-4
    assert dists[1] / dists[2] == pytest.approx(10, rel=0.2)      # O(1/kappa)


def test_inverse_law_is_the_law_of_one_over_y():
    g, k = 0.3, 1.0
    y, t = HTMP(gamma=g, kappa=k), InverseHTMP(gamma=g, kappa=k)
    pts = np.array([0.05, 0.3, 1.0, 4.0, 50.0])
    np.testing.assert_allclose(t.cdf(pts), y.sf(1 / pts), rtol=1e-14)
    np.testing.assert_allclose(t.pdf(pts), y.pdf(1 / pts) / pts**2, rtol=1e-13)
    np.testing.assert_allclose(t.ppf([0.1, 0.5, 0.9]), 1 / y.isf([0.1, 0.5, 0.9]), rtol=1e-13)
    # E[T] = 1/(s alpha) = kappa/(2 gamma alpha) (MATH.md §4)
    alpha = k * (1 - g) / (2 * g) - 1
    assert t.mean() == pytest.approx(k / (2 * g * alpha), rel=1e-12)
    # E[T^2] numerically against the second inverse moment by quadrature of the pdf
    assert t.tail_index == pytest.approx(k / (2 * g) - k / 2)
    assert t.moment(2) == (np.inf if 2 >= t.tail_index else t.moment(2))


def test_inverse_tails_have_the_stated_exponents():
    g, k = 0.4, 2.0
    t = InverseHTMP(gamma=g, kappa=k, scale=1.5)
    # survival function ~ C t^-tail_index: local slope in log-log at t = 1e6 .. 1e7
    big = np.array([1e6, 1e7])
    slope = np.diff(np.log(t.sf(big))) / np.diff(np.log(big))
    assert slope[0] == pytest.approx(-t.tail_index, rel=1e-4)
    # inverse-Gamma edge at 0: log rho(t) + edge_exponent log t + rate/t -> constant
    small = np.array([1e-3, 2e-3])
    resid = t.logpdf(small) + t.edge_exponent * np.log(small) + t.edge_rate / small
    assert abs(resid[0] - resid[1]) < 0.02


def test_logpdf_finite_where_pdf_underflows():
    law = HTMP(gamma=0.5, kappa=2.0)
    x = np.array([1e3, 1e5])
    assert np.all(law.pdf(x) == 0.0)
    lp = law.logpdf(x)
    assert np.all(np.isfinite(lp)) and lp[1] < lp[0] < -700
    # and it continues the asymptote x^(alpha+2c) e^-x/lam (MATH.md §2.7)
    a, c = law.alpha, law.c
    lam = 2 * 0.5 / 2.0
    d = np.diff(lp - ((a + 2 * c) * np.log(x) - x / lam))
    assert abs(d[0]) < 1e-3 * abs(lp[1])


def test_stieltjes_matches_quadrature_and_density():
    law = HTMP(gamma=0.4, kappa=3.0)
    x = np.unique(np.concatenate([[0.0], _quantile_grid(law), [law.isf(1e-16)]]))
    for z in (2.0 + 1.0j, -0.5 + 0.0j, 0.7 + 0.05j, 3.0 - 2.0j):
        num = _integrate(lambda t: law.pdf(t) / (z - t), x[:-1], x[1:]).sum()
        assert law.stieltjes(z) == pytest.approx(num, rel=1e-8)
    # boundary value: f(x) = -Im G(x + i0)/pi
    pts = np.array([0.3, 1.0, 2.0])
    np.testing.assert_allclose(-law.stieltjes(pts + 1e-14j).imag / np.pi, law.pdf(pts), rtol=1e-8)
    # G(0) = -1/(alpha lam) (MATH.md §2.4: G_X(0) = -1/alpha)
    lam = 2 * 0.4 / 3.0
    assert law.stieltjes(0.0).real == pytest.approx(-1 / (law.alpha * lam), rel=1e-10)


@pytest.mark.parametrize("law", [HTMP(gamma=0.5, kappa=4.0), InverseHTMP(gamma=0.5, kappa=4.0),
                                 MarchenkoPastur(gamma=0.5)], ids=["htmp", "inverse", "mp"])
def test_stieltjes_on_the_real_axis_is_the_value_from_above(law):
    """Every law returns G(x + i0) at real x: Im G = -pi f(x), and the value continues
    G(x + i eps) (InverseHTMP took G_X from the wrong side of the axis: Im G was +pi f)."""
    pts = np.array([0.4, 1.0, 1.7])
    on_axis = law.stieltjes(pts)
    np.testing.assert_allclose(-on_axis.imag / np.pi, law.pdf(pts), rtol=1e-12)
    np.testing.assert_allclose(on_axis, law.stieltjes(pts + 1e-10j), rtol=1e-7)


def test_trinh_trinh_moments_closed_forms():
    law = TrinhTrinh(alpha=2.0, c=1.5)        # MATH.md check01: 4.5 / 31.5 / 282.375
    assert [law.moment(k) for k in (1, 2, 3)] == pytest.approx([4.5, 31.5, 282.375], rel=1e-14)
    assert law.inverse_moment(1) == pytest.approx(1 / 2.0, rel=1e-10)    # E[1/X] = 1/alpha


def test_broadcasting_over_parameters():
    law = HTMP(gamma=np.array([[0.3], [0.6]]), kappa=np.array([1.0, 4.0, 16.0]))
    x = np.array([0.5, 1.0, 2.0])
    out = law.pdf(x)
    assert out.shape == (2, 3)
    for i, g in enumerate((0.3, 0.6)):
        for j, k in enumerate((1.0, 4.0, 16.0)):
            assert out[i, j] == HTMP(gamma=g, kappa=k).pdf(x[j])
    assert law.mean().shape == (2, 3)
    assert law.rvs(rng=1).shape == (2, 3)
