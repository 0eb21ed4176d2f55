"""free_multiplicative: mu_Sigma [x] rho against closed forms, exact moments and random matrices.

References: (a) Sigma = c I gives rho scaled by c, compared with the law's own pdf/cdf;
(b) MP [x] MP: S-transforms multiply (S of a unit-mean MP_gamma is 1/(1 + gamma z)), so
psi = zeta^-1-series solves zeta psi = (1+psi)(1+g1 psi)(1+g2 psi): the density from the roots
of that cubic (numpy.roots), the moments from Lagrange inversion in exact rationals, the edges
from its critical points; (c) eigenvalues of Sigma^(1/2) O diag(m) O^T Sigma^(1/2) with Haar O.
"""
from fractions import Fraction

import numpy as np
import pytest

from htmp.laws import HTMP, InverseHTMP, MarchenkoPastur
from htmp.theory._free_cauchy import Atoms, Panels
from htmp.theory._free_solve import g_from_w2, solve, solve_real
from htmp.theory.free import FreeTableInfo, free_multiplicative

INV = InverseHTMP(gamma=0.5, kappa=4.0)
G1, G2 = 0.3, 0.6


# -- (a) Sigma = c I ---------------------------------------------------------------------------
@pytest.mark.parametrize("law", [INV, HTMP(gamma=0.3, kappa=1.3), MarchenkoPastur(gamma=0.4)],
                         ids=["InverseHTMP", "HTMP", "MP"])
def test_identity_sigma_returns_the_law(law):
    mu = free_multiplicative(np.ones(7), law)
    x = law.ppf(np.linspace(0.01, 0.99, 60))
    np.testing.assert_allclose(mu.pdf(x), law.pdf(x), rtol=1e-11)
    np.testing.assert_allclose(mu.cdf(x), law.cdf(x), rtol=0, atol=1e-13)
    np.testing.assert_allclose(mu.sf(x), law.sf(x), rtol=1e-11)
    assert abs(mu.table_info().mass_error) < 1e-13


def test_constant_sigma_scales_the_law():
    c = 2.5
    mu = free_multiplicative(np.full(3, c), INV)
    x = c * INV.ppf(np.linspace(0.02, 0.98, 25))
    np.testing.assert_allclose(mu.pdf(x), INV.pdf(x / c) / c, rtol=1e-11)
    np.testing.assert_allclose(mu.cdf(x), INV.cdf(x / c), atol=1e-13)
    assert mu.mean() == pytest.approx(c * float(INV.mean()), rel=1e-15)


# -- (b) MP [x] MP -------------------------------------------------------------------------------
def _cubic_density(x):
    """-Im G / pi from the complex root of zeta psi = (1+psi)(1+g1 psi)(1+g2 psi), G = (1+psi)/x."""
    h = np.polynomial.polynomial.polymul(np.polymul([G1, 1], [1, 1]), [G2, 1])  # descending
    out = []
    for xx in x:
        roots = np.roots(h - np.array([0, 0, xx, 0]))
        out.append(np.max(np.abs(roots.imag)) / (np.pi * xx))
    return np.array(out)


def _exact_moments(kmax):
    """m_k = (1/k) [t^(k-1)] h(t)^k, h = (1+t)(1+g1 t)(1+g2 t) (Lagrange inversion, exact)."""
    g1, g2 = Fraction(3, 10), Fraction(3, 5)
    h = [Fraction(1), 1 + g1 + g2, g1 + g2 + g1 * g2, g1 * g2]
    out, power = [], [Fraction(1)]
    for k in range(1, kmax + 1):
        power = [sum(power[i] * h[j - i] for i in range(len(power)) if 0 <= j - i < 4)
                 for j in range(len(power) + 3)]
        out.append(power[k - 1] / k)
    return [float(m) for m in out]


@pytest.fixture(scope="module")
def mp_mp():
    return free_multiplicative(MarchenkoPastur(gamma=G1), MarchenkoPastur(gamma=G2))


def test_mp_mp_density_matches_the_cubic(mp_mp):
    lo, hi = mp_mp.support()
    x = np.linspace(lo, hi, 203)[1:-1]
    np.testing.assert_allclose(mp_mp.pdf(x), _cubic_density(x), rtol=0, atol=1e-12)
    assert mp_mp.pdf(np.array([0.5 * lo, hi * 1.01, -1.0])).tolist() == [0.0, 0.0, 0.0]


def test_mp_mp_moments_are_exact(mp_mp):
    lo, hi = mp_mp.support()
    theta, wts = np.polynomial.legendre.leggauss(300)
    theta = 0.5 * np.pi * (theta + 1)                    # x = lo + (hi-lo)(1-cos)/2 smooths
    x = lo + 0.5 * (hi - lo) * (1 - np.cos(theta))       # the square-root edges
    jac = 0.5 * (hi - lo) * np.sin(theta) * 0.5 * np.pi
    dens = mp_mp.pdf(x) * jac * wts
    exact = _exact_moments(5)
    got = [float(np.sum(dens * x ** k)) for k in range(1, 6)]
    np.testing.assert_allclose(got, exact, rtol=1e-10)
    assert mp_mp.mean() == exact[0] and mp_mp.var() == pytest.approx(exact[1] - 1, rel=1e-14)


def test_mp_mp_support_edges_are_critical_values(mp_mp):
    # zeta(psi) = h(psi)/psi on the real line; the edges are its values at h'(psi) psi = h(psi)
    h = np.poly1d(np.polymul(np.polymul([G1, 1], [1, 1]), [G2, 1]))
    crit = (np.polyder(h) * np.poly1d([1, 0]) - h).roots
    crit = crit[np.abs(crit.imag) < 1e-12].real
    edges = np.sort([h(c) / c for c in crit if h(c) / c > 0])
    lo, hi = mp_mp.support()
    assert lo == pytest.approx(edges[0], rel=1e-9)
    assert hi == pytest.approx(edges[-1], rel=1e-9)


def test_mp_mp_cdf_is_the_integral_of_the_cubic_density(mp_mp):
    lo, hi = mp_mp.support()
    assert mp_mp.cdf(hi) == pytest.approx(1.0, abs=1e-13)
    theta, wts = np.polynomial.legendre.leggauss(300)
    for frac in (0.3, 0.6):
        b = lo + frac * (hi - lo)                        # integral over [lo, b], same smoothing
        t = 0.5 * np.pi * (theta + 1)
        x = lo + 0.5 * (b - lo) * (1 - np.cos(t))
        ref = np.sum(_cubic_density(x) * 0.5 * (b - lo) * np.sin(t) * 0.5 * np.pi * wts)
        assert mp_mp.cdf(b) == pytest.approx(ref, abs=1e-11)


# -- (c) random matrices -------------------------------------------------------------------------
def _haar(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _ks(eigs, cdf):
    e = np.sort(eigs)
    n, F = e.size, cdf(e)
    i = np.arange(1, e.size + 1)
    return max(np.max(i / n - F), np.max(F - (i - 1) / n))


def _rotated(sig, m, rng):
    o, s = _haar(sig.size, rng), np.sqrt(sig)
    return np.linalg.eigvalsh((s[:, None] * o) * m @ (o.T * s[None, :]))


def test_random_matrices_follow_the_convolution():
    n = 1000
    rng = np.random.default_rng(1)
    sig = np.where(np.arange(n) < n // 2, 1.0, 4.0)
    mu = free_multiplicative(sig, INV)
    # m drawn iid from rho: the ESD inherits the O(1/sqrt n) Kolmogorov fluctuation of the
    # draw; 1.63/sqrt(n) is the 99% quantile of sqrt(n) D for iid samples
    assert _ks(_rotated(sig, INV.rvs(n, rng=rng), rng), mu.cdf) < 1.63 / np.sqrt(n)
    # m at the n quantiles of rho: no sampling noise left; measured n D = 3.3, 2.6, 3.8 at
    # n = 500, 1000, 2000 (benchmarks/bench_free_convolution.py), so D ~ 1/n and 6/n is the bound
    m = INV.ppf((np.arange(n) + 0.5) / n)
    assert _ks(_rotated(sig, m, rng), mu.cdf) < 6.0 / n


# -- the pieces: Cauchy transforms and the solver ------------------------------------------------
def test_panel_cauchy_transform_matches_the_law():
    law = HTMP(gamma=0.5, kappa=4.0)
    pan = Panels(law)
    z = np.array([0.3 + 0.5j, 2 + 1j, 10 + 3j, -1 + 0j, 0.05 + 0.01j])
    g, dg = pan.g_dg(z)
    np.testing.assert_allclose(g, law.stieltjes(z), rtol=1e-13)   # the law's quadrature
    eps = 1e-6                                                      # central difference
    np.testing.assert_allclose(dg, (pan.g_dg(z + eps)[0] - pan.g_dg(z - eps)[0]) / (2 * eps),
                               rtol=1e-7)
    x = law.ppf(np.linspace(0.02, 0.98, 40))
    np.testing.assert_allclose(-pan.g_dg(x + 0j)[0].imag / np.pi, law.pdf(x), rtol=1e-12)


def test_warm_started_axis_solutions_equal_the_ladder():
    tr1, tr2 = Atoms(np.linspace(0.5, 3.0, 200)), Panels(INV)
    x = np.geomspace(0.05, 80, 300)
    w_ladder, y1 = solve(tr1, tr2, x + 0j)
    w_levels, y2 = solve_real(tr1, tr2, x)
    assert np.all(y1 == 0) and np.all(y2 == 0)
    np.testing.assert_allclose(w_levels, w_ladder, rtol=1e-12)
    g = g_from_w2(tr2, x + 0j, w_ladder)
    g_alt = w_ladder * 0                                            # w1 G1(w1)/x, the other side
    w1 = x * tr2.g_dg(w_ladder)[0] / (w_ladder * tr2.g_dg(w_ladder)[0] - 1)
    g_alt = w1 * tr1.g_dg(w1)[0] / x
    np.testing.assert_allclose(g, g_alt, rtol=1e-11)


# -- properties -----------------------------------------------------------------------------------
def test_distribution_properties():
    mu = free_multiplicative(np.array([0.0, 1.0, 2.0, 3.0]), INV)
    assert mu.cdf(0.0) == pytest.approx(0.25, abs=1e-15)             # the zero eigenvalue
    assert mu.support()[0] == 0.0 and mu.support()[1] == np.inf
    q = np.linspace(0.3, 0.99, 30)
    np.testing.assert_allclose(mu.cdf(mu.ppf(q)), q, atol=1e-13)
    x = np.geomspace(0.01, 1e4, 200)
    assert np.all(np.diff(mu.cdf(x)) >= -1e-15)
    np.testing.assert_allclose(mu.cdf(x) + mu.sf(x), 1.0, atol=1e-13)
    assert np.isnan(mu.ppf(1.5)) and np.isnan(mu.cdf(np.nan)) and mu.pdf(-1.0) == 0.0
    z = np.array([1 + 1j, 3 - 2j])
    g = mu.stieltjes(z)
    assert g[1] == pytest.approx(np.conj(mu.stieltjes(3 + 2j)), rel=1e-14)
    assert g[0].imag < 0
    assert mu.stieltjes(1e9 + 0j) == pytest.approx(1e-9, rel=1e-7)  # G ~ 1/z
    info = mu.table_info()
    assert isinstance(info, FreeTableInfo) and info.to_frame().shape[0] == 1
    assert info.to_dict()["atom_at_zero"] == 0.25


# -- (d) bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma,exc,match", [
    (np.array([1.0, -2.0]), ValueError, r"sigma must be >= 0.*-2\.0"),
    (np.array([1.0, np.nan]), ValueError, r"sigma must be finite.*nan"),
    (np.array([]), ValueError, r"sigma must be a non-empty 1-D array.*\(0,\)"),
    (np.ones((2, 2)), ValueError, r"sigma must be a non-empty 1-D array.*\(2, 2\)"),
    (np.zeros(3), ValueError, r"sigma must have at least one eigenvalue > 0"),
    (np.array([1 + 1j]), TypeError, r"sigma must be real"),
    ("abc", TypeError, r"sigma must be an array of eigenvalues or a law"),
])
def test_bad_sigma(sigma, exc, match):
    with pytest.raises(exc, match=match):
        free_multiplicative(sigma, INV)


def test_bad_law():
    with pytest.raises(TypeError, match=r"law must be a law from htmp.laws.*ndarray"):
        free_multiplicative(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"law must be a law with scalar parameters"):
        free_multiplicative(np.ones(3), MarchenkoPastur(gamma=[0.2, 0.5]))
    with pytest.raises(TypeError, match=r"z must be a complex number"):
        free_multiplicative(np.ones(3), INV).stieltjes("x")


# -- the PIPO experiment, quick mode ---------------------------------------------------------------
def test_pipo_experiment_quick(tmp_path):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "experiments" / "free_convolution.py"
    spec = importlib.util.spec_from_file_location("free_convolution_exp", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    frame = mod.main(["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "free_pipo.png").stat().st_size > 0
    assert (tmp_path / "pipo.csv").exists() and (tmp_path / "pipo.json").exists()
    row = frame.iloc[0]
    # the output keeps Sigma's survival index a' = 1.5 (Prop 4.2), and C(x) = sf x^a' is
    # within 1% of (E Y)^a' already at x = 1e4 (full run: 4-6 digits at 1e8)
    assert abs(row["slope_at_x_max"] - row["a_sigma"]) < 0.05
    assert row["C_measured_at_x_max"] == pytest.approx(row["C_mean_power"], rel=0.01)
    assert abs(row["mass_error"]) < 1e-12
