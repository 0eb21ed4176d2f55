"""Dumitriu-Edelman tridiagonal samplers: exact moments, dense-matrix agreement, validation."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from htmp.ensembles import (
    SymTridiagonal,
    beta_hermite_eigvals,
    beta_hermite_tridiagonal,
    beta_laguerre_eigvals,
    beta_laguerre_tridiagonal,
    beta_wishart_eigvals,
)


def laguerre_trace_moments(n, beta, alpha):
    """E tr T and E tr T^2 of T = B B^T / 2 from the Gamma shapes of its entries."""
    k = alpha + 1 + beta * np.arange(n - 1, -1, -1) / 2      # shapes of G_i
    h = beta * np.arange(n - 1, 0, -1) / 2                   # shapes of H_i
    m_diag = k.copy()
    m_diag[1:] += h
    return m_diag.sum(), (m_diag + m_diag**2).sum() + 2 * (k[:-1] * h).sum()


def test_trace_moment_formula_matches_two_point_density():
    # n = 2: integrate prod x^alpha e^-x |x1-x2|^beta directly (scipy dblquad, ~1e-10)
    alpha, beta = 0.3, 0.7

    def w(y, x, p):
        return (x * y) ** alpha * np.exp(-x - y) * abs(x - y) ** beta * (x * x + y * y) ** p

    z = integrate.dblquad(w, 0, np.inf, 0, lambda x: x, args=(0,), epsrel=1e-11)[0]
    e1 = integrate.dblquad(lambda y, x: w(y, x, 0) * (x + y), 0, np.inf, 0, lambda x: x,
                           epsrel=1e-11)[0] / z
    e2 = integrate.dblquad(w, 0, np.inf, 0, lambda x: x, args=(1,), epsrel=1e-11)[0] / z
    m1, m2 = laguerre_trace_moments(2, beta, alpha)
    assert m1 == pytest.approx(e1, rel=1e-7)
    assert m2 == pytest.approx(e2, rel=1e-7)
    # the classical identity E sum x = n(alpha+1) + beta n(n-1)/2
    n = 7
    assert laguerre_trace_moments(n, 0.3, 1.5)[0] == pytest.approx(n * 2.5 + 0.3 * n * (n - 1) / 2)


@pytest.mark.parametrize("beta,alpha", [(1.0, 0.5), (0.01 / 30, -0.9), (2 / 30, 3.0), (4.0, 0.0)])
def test_laguerre_trace_moments_by_sampling(beta, alpha):
    n, reps = 30, 3000
    rng = np.random.default_rng(11)
    t1 = np.empty(reps)
    t2 = np.empty(reps)
    for r in range(reps):
        d, e = beta_laguerre_tridiagonal(n, beta=beta, alpha=alpha, rng=rng)
        t1[r] = d.sum()
        t2[r] = (d * d).sum() + 2 * (e * e).sum()
    m1, m2 = laguerre_trace_moments(n, beta, alpha)
    for sample, exact in ((t1, m1), (t2, m2)):
        z = (sample.mean() - exact) / (sample.std(ddof=1) / np.sqrt(reps))
        assert abs(z) < 4.5, (sample.mean(), exact)


def test_laguerre_eigvals_are_those_of_the_tridiagonal():
    t = beta_laguerre_tridiagonal(50, beta=0.1, alpha=0.2, rng=3)
    dense = np.diag(t.diag) + np.diag(t.offdiag, 1) + np.diag(t.offdiag, -1)
    np.testing.assert_allclose(t.eigvals(), np.linalg.eigvalsh(dense), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(beta_laguerre_eigvals(50, beta=0.1, alpha=0.2, rng=3),
                                  t.eigvals())


def _dense_wishart(p, n, beta, reps, rng):
    out = []
    for _ in range(reps):
        g = rng.standard_normal((p, n))
        if beta == 2:
            g = g + 1j * rng.standard_normal((p, n))       # E|g|^2 = 2
        out.append(np.linalg.eigvalsh(g @ g.conj().T))
    return np.concatenate(out)


@pytest.mark.parametrize("beta", [1, 2])
def test_wishart_tridiagonal_matches_dense(beta):
    p, n, reps = 40, 80, 50
    rng = np.random.default_rng(2024 + beta)
    dense = _dense_wishart(p, n, beta, reps, rng)
    tri = np.concatenate([beta_wishart_eigvals(p, n, beta=beta, rng=rng) for _ in range(reps)])
    assert stats.ks_2samp(tri, dense).pvalue > 1e-3
    # the same comparison detects a wrong parameter (power check of this test)
    wrong = np.concatenate([beta_wishart_eigvals(p, n + 24, beta=beta, rng=rng)
                            for _ in range(reps)])
    assert stats.ks_2samp(wrong, dense).pvalue < 1e-6


def test_hermite_matches_goe_and_gue():
    n, reps = 40, 60
    rng = np.random.default_rng(5)
    goe, gue = [], []
    for _ in range(reps):
        a = rng.standard_normal((n, n))
        goe.append(np.linalg.eigvalsh((a + a.T) / 2))         # H_ii ~ N(0,1), H_ij ~ N(0,1/2)
        c = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(2)
        gue.append(np.linalg.eigvalsh((c + c.conj().T) / np.sqrt(2)))
    goe, gue = np.concatenate(goe), np.concatenate(gue)
    tri1 = np.concatenate([beta_hermite_eigvals(n, beta=1, rng=rng) for _ in range(reps)])
    tri2 = np.concatenate([beta_hermite_eigvals(n, beta=2, rng=rng) for _ in range(reps)])
    assert stats.ks_2samp(tri1, goe).pvalue > 1e-3
    assert stats.ks_2samp(tri2, gue).pvalue > 1e-3
    assert stats.ks_2samp(tri2, goe).pvalue < 1e-6     # beta matters: the test has power


@pytest.mark.parametrize("beta", [2.0, 0.05, 1e-4])
def test_hermite_trace_moment(beta):
    # E tr H^2 = n + beta n (n-1) / 2  (diag N(0,1), offdiag^2 ~ Gamma(beta k / 2))
    n, reps = 25, 3000
    rng = np.random.default_rng(7)
    t2 = np.array([(lambda d, e: (d * d).sum() + 2 * (e * e).sum())(
        *beta_hermite_tridiagonal(n, beta=beta, rng=rng)) for _ in range(reps)])
    exact = n + beta * n * (n - 1) / 2
    z = (t2.mean() - exact) / (t2.std(ddof=1) / np.sqrt(reps))
    assert abs(z) < 4.5


def test_high_temperature_large_n_is_cheap_and_valid():
    n = 200_000
    t = beta_laguerre_tridiagonal(n, beta=0.5 / n, alpha=-0.5, rng=0)
    assert t.diag.shape == (n,) and t.offdiag.shape == (n - 1,)
    assert np.all(np.isfinite(t.diag)) and np.all(t.offdiag >= 0)
    # exact mean of tr T / n is a_DE = alpha + 1 + beta (n-1)/2; sd of the mean ~ 2e-3
    assert t.diag.mean() == pytest.approx(0.5 + 0.25 * (n - 1) / n, abs=1e-2)


def test_rng_reproducible_and_explicit():
    a = beta_laguerre_eigvals(20, beta=1.0, alpha=0.0, rng=42)
    b = beta_laguerre_eigvals(20, beta=1.0, alpha=0.0, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert not np.array_equal(beta_hermite_eigvals(10, beta=1.0, rng=g),
                              beta_hermite_eigvals(10, beta=1.0, rng=g))


def test_sym_tridiagonal_is_immutable_and_unpacks():
    t = beta_laguerre_tridiagonal(5, beta=1.0, alpha=0.0, rng=0)
    d, e = t
    assert t.n == 5 and d.shape == (5,) and e.shape == (4,)
    with pytest.raises(ValueError):
        t.diag[0] = 1.0
    with pytest.raises(AttributeError):
        t.diag = np.zeros(5)
    one = beta_laguerre_tridiagonal(1, beta=1.0, alpha=0.0, rng=0)
    assert one.eigvals().shape == (1,) and one.offdiag.shape == (0,)
    with pytest.raises(ValueError, match="offdiag must have shape"):
        SymTridiagonal(np.zeros(3), np.zeros(3))


@pytest.mark.parametrize("call,match", [
    (lambda: beta_laguerre_tridiagonal(0, beta=1.0, alpha=0.0), r"n must be an integer >= 1, got 0"),
    (lambda: beta_laguerre_tridiagonal(5, beta=0.0, alpha=0.0), r"beta must be finite and in \(0, inf\), got 0.0"),
    (lambda: beta_laguerre_tridiagonal(5, beta=-1, alpha=0.0), r"beta must .*\(0, inf\).*-1"),
    (lambda: beta_laguerre_tridiagonal(5, beta=1.0, alpha=-1.0), r"alpha must be finite and in \(-1, inf\), got -1.0"),
    (lambda: beta_laguerre_tridiagonal(5, beta=np.nan, alpha=0.0), r"beta must be finite"),
    (lambda: beta_wishart_eigvals(10, 9.0, beta=1.0), r"n must be finite and in \(9, inf\), got 9.0"),
    (lambda: beta_hermite_tridiagonal(3, beta=-2.0), r"beta must .*\(0, inf\)"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_integer_n_is_a_type_error():
    with pytest.raises(TypeError, match="n must be an integer"):
        beta_laguerre_tridiagonal(5.0, beta=1.0, alpha=0.0)
