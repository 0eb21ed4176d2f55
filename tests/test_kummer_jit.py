"""The compiled Kummer walk (numba, optional) builds the same tables as the Python walk.

The Python walk (``htmp.laws._kummer._walk_python``, ``_coefficients``, ``_log_series``) is
the reference: both run the same operations in the same order, so the tables agree to a
few units in the last place (compilers may contract a multiply-add), with the same centres.
"""
import numpy as np
import pytest

from htmp.laws import _kummer, _kummer_jit

numba = pytest.importorskip("numba")

GRID = [(a, c) for a in (-0.99, -0.5, 0.0, 0.3, 2.0, 17.5, 300.0, 5e4)
        for c in (0.005, 0.4, 1.0, 3.0, 25.0)]
BULK = dict(log_tail=30.0, log_underflow=80.0, phase_cap=2.5)


def _both(monkeypatch, alpha, c, **kw):
    monkeypatch.delenv("HTMP_NO_JIT", raising=False)
    assert _kummer_jit.load() is not None
    compiled = _kummer.build_table(alpha, c, **kw)
    monkeypatch.setenv("HTMP_NO_JIT", "1")
    assert _kummer_jit.load() is None
    python = _kummer.build_table(alpha, c, **kw)
    monkeypatch.delenv("HTMP_NO_JIT")
    return compiled, python


@pytest.mark.parametrize("alpha,c", GRID)
@pytest.mark.parametrize("kw", [{}, BULK], ids=["full", "bulk"])
def test_compiled_walk_builds_the_python_table(monkeypatch, alpha, c, kw):
    tj, tp = _both(monkeypatch, alpha, c, **kw)
    assert tj.x0.shape == tp.x0.shape and tj.lcoef.shape == tp.lcoef.shape
    np.testing.assert_allclose(tj.x0, tp.x0, rtol=1e-14, atol=0)
    # log f and the phase are O(100-1000) in the tails and at large c: absolute 1e-12
    scale = 1.0 + np.abs(tp.logf0)
    assert np.max(np.abs(tj.logf0 - tp.logf0) / scale) < 1e-13
    assert np.max(np.abs(tj.theta0 - tp.theta0) / (1.0 + np.abs(tp.theta0))) < 1e-13
    # the stored series, where they are evaluated: across every gap between centres (their
    # high-order coefficients are amplified rounding, weighted by (|x - x0|/x0)^k << 1)
    frac = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    x = (tp.x0[:-1, None] + frac[None, :] * np.diff(tp.x0)[:, None]).ravel()
    lj, lp = tj.logpdf(x), tp.logpdf(x)
    assert np.max(np.abs(lj - lp) / (1.0 + np.abs(lp))) < 1e-13
    pj, pp = tj.phase(x), tp.phase(x)
    assert np.max(np.abs(pj - pp) / (1.0 + np.abs(pp))) < 1e-13
    assert tj.partial == tp.partial and tj.coef.shape == tp.coef.shape


def test_laws_agree_through_either_walk(monkeypatch):
    """End to end: HTMP's pdf and cdf do not depend on which walk built the table."""
    from htmp.laws import HTMP
    from htmp.laws._kummer import kummer_table
    x = np.linspace(0.05, 3.0, 50)
    kummer_table.cache_clear()
    law = HTMP(gamma=0.37, kappa=1.3)
    pj, cj = law.pdf(x), law.cdf(x)
    monkeypatch.setenv("HTMP_NO_JIT", "1")
    kummer_table.cache_clear()
    pp, cp = law.pdf(x), law.cdf(x)
    kummer_table.cache_clear()
    np.testing.assert_allclose(pj, pp, rtol=1e-13)
    np.testing.assert_allclose(cj, cp, rtol=1e-13, atol=1e-15)


def test_no_jit_switch(monkeypatch):
    for v in ("1", "true", "YES"):
        monkeypatch.setenv("HTMP_NO_JIT", v)
        assert _kummer_jit.disabled() and _kummer_jit.load() is None
        assert _kummer_jit.warm_up() is False
    monkeypatch.setenv("HTMP_NO_JIT", "0")
    assert not _kummer_jit.disabled() and _kummer_jit.load() is not None
    assert _kummer_jit.warm_up() is True


@pytest.mark.parametrize("alpha,c", [(-0.5, 0.4), (2.0, 3.0), (300.0, 25.0)])
def test_compiled_evaluation_matches_python(monkeypatch, alpha, c):
    """logpdf, phase and logpdf_derivatives of one table, compiled Horner against numpy's."""
    table = _kummer.build_table(alpha, c, **BULK)
    x = np.sort(np.random.default_rng(0).uniform(table.x0[0], table.x0[-1], 400))
    monkeypatch.delenv("HTMP_NO_JIT", raising=False)
    got = (table.logpdf(x), table.phase(x), *table.logpdf_derivatives(x))
    monkeypatch.setenv("HTMP_NO_JIT", "1")
    ref = (table.logpdf(x), table.phase(x), *table.logpdf_derivatives(x))
    for g, r in zip(got, ref):
        assert np.max(np.abs(g - r) / (1.0 + np.abs(r))) < 1e-14


def test_fits_agree_with_and_without_the_compiled_path(monkeypatch):
    """fit_htmp through the compiled walk and Newton sums, and through numpy alone
    (HTMP_NO_JIT=1, fresh table caches both times): the same kappa, scale and likelihood."""
    from htmp.ensembles import htmp_eigvals
    from htmp.fitting import fit_htmp
    from htmp.laws._kummer import bulk_table, kummer_table

    eigs = htmp_eigvals(300, gamma=0.4, kappa=3.0, rng=7)
    results = []
    for flag in ("0", "1"):
        monkeypatch.setenv("HTMP_NO_JIT", flag)
        bulk_table.cache_clear()
        kummer_table.cache_clear()
        results.append(fit_htmp(eigs, gamma=0.4))
    bulk_table.cache_clear()
    kummer_table.cache_clear()
    a, b = results
    assert a.status == b.status == "ok"
    assert a.kappa == pytest.approx(b.kappa, rel=1e-9)
    assert a.scale == pytest.approx(b.scale, rel=1e-9)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12, abs=1e-9)
    assert (a.kappa_lo, a.kappa_hi) == pytest.approx((b.kappa_lo, b.kappa_hi), rel=1e-8)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("with_cut", [False, True])
def test_compiled_newton_is_the_python_newton(monkeypatch, inverse, with_cut):
    """Profile._newton in one compiled loop (numba) and in Python (HTMP_NO_JIT=1) on the
    same table, from the same start: the same maximiser and value, truncated or not, for
    HTMP and InverseHTMP; and the compiled loop hands back (code 2) when the data leave the
    table."""
    from htmp.ensembles import htmp_eigvals
    from htmp.fitting._profile import Profile
    from htmp.laws.tables import bulk_table, raw_params

    y = np.sort(htmp_eigvals(400, gamma=0.4, kappa=3.0, rng=3))
    cut = None
    if with_cut:                       # the top 10 set aside: truncated at their midpoint
        cut, y = 0.5 * (y[-11] + y[-10]), y[:-10]
    prof = Profile(inverse, y, 0.4, cut=cut)
    kappa = 3.0
    table = bulk_table(*raw_params(0.4, kappa)[:2])
    t0 = prof._grid_maximum(table, prof._t_moments(kappa))[0] + 0.1    # near the top
    found = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("HTMP_NO_JIT", flag)
        found[flag] = prof._newton(table, t0, t0 - 0.25, t0 + 0.25)
    assert found["0"] is not None and found["1"] is not None
    assert found["0"][0] == pytest.approx(found["1"][0], abs=1e-13)
    assert found["0"][1] == pytest.approx(found["1"][1], rel=1e-13, abs=1e-10)
    monkeypatch.delenv("HTMP_NO_JIT")
    jit = _kummer_jit.load()
    far = t0 + 40.0 * (-1.0 if inverse else 1.0)          # every point beyond the table
    code, _, _ = jit.newton_scale(table.x0, table._mids, table.lcoef, table.logf0,
                                  table.pcoef, table.theta0, table.alpha, table.c, prof.z,
                                  prof.z_lo, prof.z_hi, np.nan, 0.0, inverse, far, far - 1,
                                  far + 1, 1e-5, 1e-300, 8, False, 0.0, 0.0)
    assert code == 2


@pytest.mark.parametrize("alpha,c", [(-0.5, 0.3), (0.3, 1.0), (2.0, 3.0), (17.5, 25.0),
                                     (300.0, 3.0), (2000.0, 500.0), (5e4, 25.0)])
def test_left_tail_derivatives_are_those_of_logpdf(alpha, c):
    """_left_tail (the compiled Newton's density left of a full table) is KummerTable.logpdf
    there, and its derivatives in log x are central differences of it (step 1e-4: agreement
    to 1e-6 relative); both Frobenius branches occur (|Re lr| = 213 and 63 for the last
    two pairs: the interpolated form)."""
    from htmp.laws import _kummer_numba_eval as K

    table = _kummer.kummer_table(alpha, c)
    lr = table.left_log_ratio
    xs = table.x0[0] * np.array([0.9, 0.5, 1e-2, 1e-5])
    h = 1e-4
    for x in xs:
        lf, d1, d2 = K._left_tail(x, table.x0[0], table.logf0[0], alpha, lr.real, lr.imag)
        ref = table.logpdf(np.array([x * np.exp(-h), x, x * np.exp(h)]))
        assert lf == pytest.approx(ref[1], rel=1e-13, abs=1e-13)
        L1 = (ref[2] - ref[0]) / (2 * h)                 # d/ds log f, s = log x
        L2 = (ref[2] - 2 * ref[1] + ref[0]) / h ** 2
        assert d1 == pytest.approx(L1, rel=1e-6, abs=1e-6)
        assert d2 == pytest.approx(L2 - L1, rel=1e-5, abs=1e-5)   # x^2 f''/f-form: L'' - L'
