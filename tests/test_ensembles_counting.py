"""Sturm counts, CDF and histograms of tridiagonal spectra vs full diagonalisation."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import eigvalsh_tridiagonal

from htmp.ensembles import (
    SpectrumHistogram,
    SymTridiagonal,
    bidiagonal_count,
    bidiagonal_histogram,
    beta_hermite_tridiagonal,
    beta_laguerre_tridiagonal,
    extreme_eigvals,
    htmp_tridiagonal,
    sturm_count,
    tridiagonal_cdf,
    tridiagonal_histogram,
)

TINY = np.finfo(float).tiny


def plain_sturm_count(d, e, x):
    """Reference: the textbook recurrence, one row at a time, with LAPACK's pivmin
    (sign +pivmin, so that an eigenvalue equal to x is not counted)."""
    x = np.asarray(x, dtype=float)
    b2 = e * e
    pivmin = TINY * max(1.0, b2.max(initial=0.0))
    q = d[0] - x
    q[np.abs(q) < pivmin] = pivmin
    count = (q < 0).astype(np.int64)
    for i in range(1, d.size):
        q = (d[i] - x) - b2[i - 1] / q
        q[np.abs(q) < pivmin] = pivmin
        count += q < 0
    return count


def shifts_for(ev, rng, n_random=300, n_near=1500):
    """Random shifts plus shifts within 1e-9 (relative to the spread) of eigenvalues."""
    span = ev[-1] - ev[0] + 1.0
    near = 1e-9 * span
    pick = ev[np.unique(np.r_[0, ev.size - 1, rng.integers(0, ev.size, n_near)])]
    return np.concatenate([rng.uniform(ev[0] - 0.1 * span, ev[-1] + 0.1 * span, n_random),
                           pick + near, pick - near])


@pytest.mark.parametrize("beta", [2e-4, 1.0, 4.0])
def test_counts_identical_to_eigvalsh_at_n_1e4(beta):
    n = 10_000
    rng = np.random.default_rng(31)
    t = beta_laguerre_tridiagonal(n, beta=beta, alpha=0.5, rng=rng)
    ev = eigvalsh_tridiagonal(t.diag, t.offdiag)
    x = shifts_for(ev, rng)
    np.testing.assert_array_equal(sturm_count(t.diag, t.offdiag, x), np.searchsorted(ev, x))
    np.testing.assert_array_equal(sturm_count(t.diag, t.offdiag, x, side="right"),
                                  np.searchsorted(ev, x, side="right"))


def test_hermite_counts_identical_to_eigvalsh():
    rng = np.random.default_rng(8)
    for n, beta in [(10_000, 0.5 / 10_000), (3_000, 2.0), (7, 1.0), (2, 1.0)]:
        t = beta_hermite_tridiagonal(n, beta=beta, rng=rng)
        ev = t.eigvals()
        x = shifts_for(ev, rng)
        np.testing.assert_array_equal(t.count_below(x), np.searchsorted(ev, x))


def test_fast_path_equals_plain_recurrence():
    rng = np.random.default_rng(4)
    for n in (2, 3, 17, 2_000):
        d = rng.standard_normal(n) * 3
        e = rng.standard_normal(n - 1)
        e[rng.random(n - 1) < 0.1] = 0.0             # exact decoupling (0/0 risk)
        x = np.concatenate([rng.uniform(-8, 8, 200), d[:5]])   # includes exact diagonal values
        np.testing.assert_array_equal(sturm_count(d, e, x), plain_sturm_count(d, e, x))


def test_scaling_invariance_and_extreme_magnitudes():
    rng = np.random.default_rng(9)
    t = beta_laguerre_tridiagonal(500, beta=0.01, alpha=0.0, rng=rng)
    x = rng.uniform(0, 6, 100)
    ref = sturm_count(t.diag, t.offdiag, x)
    for f in (2.0 ** 600, 2.0 ** -600, 1e150, 1e-150):
        np.testing.assert_array_equal(sturm_count(t.diag * f, t.offdiag * f, x * f), ref)


def test_special_matrices_and_shifts():
    assert sturm_count([2.0], [], [1.0, 2.0, 3.0]).tolist() == [0, 0, 1]
    assert sturm_count([2.0], [], [2.0], side="right").tolist() == [1]
    assert sturm_count(np.zeros(4), np.zeros(3), [-1.0, 1.0]).tolist() == [0, 4]
    d, e = np.ones(5), np.full(4, 1e-200)      # nearly diagonal: no over/underflow
    assert sturm_count(d, e, [0.5, 1.5]).tolist() == [0, 5]
    assert sturm_count(d, e, [-np.inf, np.inf]).tolist() == [0, 5]
    c = sturm_count(d, e, np.array([[0.0, 2.0], [1.5, -3.0]]))
    assert c.shape == (2, 2) and c.dtype == np.int64


def test_counts_are_monotone_in_x():
    t = htmp_tridiagonal(20_000, gamma=0.5, kappa=1.0, rng=12)
    x = np.sort(np.random.default_rng(1).uniform(0, 8, 2_000))
    assert np.all(np.diff(t.count_below(x)) >= 0)


def test_histogram_matches_numpy_histogram():
    rng = np.random.default_rng(21)
    t = htmp_tridiagonal(10_000, gamma=0.3, kappa=2.0, rng=rng)
    ev = t.eigvals()
    h = t.histogram(bins=200)                          # default range: all eigenvalues inside
    assert isinstance(h, SpectrumHistogram)
    assert h.counts.sum() == 10_000 and h.n_below == 0 and h.n_above == 0
    np.testing.assert_array_equal(h.counts, np.histogram(ev, bins=h.edges)[0])
    edges = np.sort(rng.uniform(0.1, 3.0, 51))
    h2 = tridiagonal_histogram(t.diag, t.offdiag, bins=edges)
    np.testing.assert_array_equal(h2.counts, np.histogram(ev, bins=edges)[0])
    assert h2.n_below == np.sum(ev < edges[0]) and h2.n_above == np.sum(ev > edges[-1])
    # bins [e_j, e_j+1), the last one closed, as in numpy (exactly representable eigenvalues)
    h3 = tridiagonal_histogram([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0], bins=[1.0, 2.0, 3.0])
    assert h3.counts.tolist() == [1, 2] and (h3.n_below, h3.n_above) == (0, 1)
    h4 = tridiagonal_histogram(t.diag, t.offdiag, bins=20, range=(0.5, 1.5))
    np.testing.assert_array_equal(h4.counts, np.histogram(ev, bins=20, range=(0.5, 1.5))[0])
    np.testing.assert_allclose((h4.density * np.diff(h4.edges)).sum(), h4.counts.sum() / 1e4)
    d = h4.to_dict()                    # one mechanism: FitResult's, arrays as lists
    assert d["counts"] == h4.counts.tolist() and d["n"] == 10_000
    assert list(h4.to_frame().columns) == ["left", "right", "count", "density"]


def test_cdf_and_extremes():
    t = beta_laguerre_tridiagonal(3_000, beta=1.0, alpha=1.0, rng=2)
    ev = t.eigvals()
    x = np.quantile(ev, [0.1, 0.5, 0.9]) + 1e-7
    np.testing.assert_allclose(tridiagonal_cdf(t.diag, t.offdiag, x),
                               np.searchsorted(ev, x, side="right") / ev.size)
    np.testing.assert_allclose(t.cdf(x), tridiagonal_cdf(*t, x))
    lo, hi = extreme_eigvals(*t)
    assert lo == pytest.approx(ev[0], rel=1e-12) and hi == pytest.approx(ev[-1], rel=1e-12)


def test_histogram_at_large_n_sums_to_n():
    n = 300_000
    t = htmp_tridiagonal(n, gamma=0.5, kappa=1.0, rng=5)
    h = t.histogram(bins=50, range=(0.0, 4.0))
    assert h.counts.sum() + h.n_below + h.n_above == n
    assert np.all(h.counts >= 0)


def test_tiny_eigenvalues_to_high_relative_accuracy():
    # kappa = 0.1, gamma = 0.5: alpha = -0.95, eigenvalues down to ~1e-80 (far below eps ||T||)
    t = htmp_tridiagonal(3_000, gamma=0.5, kappa=0.1, rng=0)
    ev = t.eigvals()
    assert ev[0] > 0 and ev[0] < 1e-40
    ld, ls = t.factor
    # det T = prod ld^2: every eigenvalue is relatively accurate, not just the large ones
    assert np.log(ev).sum() == pytest.approx(2 * np.log(ld).sum(), rel=1e-12)
    x = np.concatenate([np.geomspace(1e-200, 1e3, 2_000), ev * (1 + 1e-9), ev * (1 - 1e-9)])
    np.testing.assert_array_equal(bidiagonal_count(ld, ls, x), np.searchsorted(ev, x))
    np.testing.assert_array_equal(t.count_below(x, side="right"),
                                  np.searchsorted(ev, x, side="right"))
    edges = np.geomspace(1e-60, 10.0, 81)
    h = bidiagonal_histogram(ld, ls, bins=edges)
    np.testing.assert_array_equal(h.counts, np.histogram(ev, bins=edges)[0])
    np.testing.assert_array_equal(t.histogram(bins=edges).counts, h.counts)
    assert h.n_below == np.sum(ev < 1e-60)


def test_eigvals_paths_agree_and_fall_back(monkeypatch):
    from htmp.ensembles import _lapack

    # well conditioned (lambda_min > 1e-6 ||T||): sterf path; it agrees with dqds on L
    t = htmp_tridiagonal(2_000, gamma=0.5, kappa=2.0, rng=3)
    ev = t.eigvals()
    assert ev[0] > 1e-6 * ev[-1]
    sv = _lapack.bidiagonal_singular_values(*t.factor)
    np.testing.assert_allclose(ev, sv * sv, rtol=1e-10)
    # ill conditioned without dlasq1: falls back to sterf on T (absolute accuracy only)
    bad = htmp_tridiagonal(500, gamma=0.5, kappa=0.1, rng=3)
    monkeypatch.setattr(_lapack, "_DLASQ1", False)
    assert _lapack.bidiagonal_singular_values(*bad.factor) is None
    np.testing.assert_array_equal(
        bad.eigvals(), eigvalsh_tridiagonal(bad.diag, bad.offdiag, lapack_driver="sterf"))


def test_bidiagonal_count_special_shifts():
    ld, ls = np.array([1.0, 0.0, 2.0]), np.array([0.5, 0.0])     # a zero singular value
    ev = SymTridiagonal.from_bidiagonal(ld, ls).eigvals()
    x = np.array([-1.0, 0.0, 1e-300, 0.3, 10.0, np.inf])
    np.testing.assert_array_equal(bidiagonal_count(ld, ls, x), np.searchsorted(ev, x))
    np.testing.assert_array_equal(bidiagonal_count(ld, ls, x, side="right"),
                                  np.searchsorted(ev, x, side="right"))


def test_scaled_matrix():
    t = beta_laguerre_tridiagonal(200, beta=0.5, alpha=0.0, rng=1)
    np.testing.assert_allclose(t.scaled(0.25).eigvals(), 0.25 * t.eigvals(), rtol=1e-13)
    plain = SymTridiagonal(t.diag, t.offdiag)
    # without the factor the accuracy is absolute, ~eps ||T||
    np.testing.assert_allclose(plain.scaled(3.0).eigvals(), 3 * t.eigvals(), rtol=1e-12,
                               atol=1e-13 * 3 * t.eigvals()[-1])
    with pytest.raises(ValueError, match=r"factor must be \(diagonal, subdiagonal\)"):
        SymTridiagonal(t.diag, t.offdiag, factor=(t.diag, t.diag))


@pytest.mark.parametrize("call,match", [
    (lambda: sturm_count([1.0, np.nan], [0.0], [0.0]), r"diag must be finite"),
    (lambda: bidiagonal_count([1.0, 2.0], [0.5, 1.0], [0.0]), r"ls must have shape \(1,\)"),
    (lambda: sturm_count([1.0, 2.0], [0.0, 1.0], [0.0]), r"offdiag must have shape \(1,\)"),
    (lambda: sturm_count([1.0, 2.0], [0.5], [np.nan]), r"x must not contain NaN"),
    (lambda: sturm_count([1.0, 2.0], [0.5], [0.0], side="up"), r"side must be 'left' or 'right'"),
    (lambda: tridiagonal_histogram([1.0, 2.0], [0.5], bins=0), r"bins must be an integer >= 1, got 0"),
    (lambda: tridiagonal_histogram([1.0, 2.0], [0.5], bins=[1.0, 0.5]), r"bins must be .*strictly increasing"),
    (lambda: tridiagonal_histogram([1.0, 2.0], [0.5], bins=4, range=(2.0, 1.0)), r"range must be \(lo, hi\) with lo < hi"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
