"""The profile likelihood inside fit_htmp / fit_inverse_htmp, checked against the public laws.

The fit evaluates the density straight from the (bulk) Kummer tables and maximises the scale
with Newton steps on the tabulated derivatives; these tests tie what it reports to
``HTMP(...).logpdf`` / ``InverseHTMP(...).logpdf`` and to a brute-force scale maximisation.
"""
import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import htmp
from htmp.ensembles import htmp_eigvals
from htmp.fitting._profile import FINE, Profile
from htmp.laws._kummer import build_table, bulk_table, kummer_table


@pytest.mark.parametrize("name, cls", [("htmp", htmp.HTMP), ("inverse-htmp", htmp.InverseHTMP)])
@pytest.mark.parametrize("gamma, kappa", [(0.25, 0.7), (0.5, 4.0), (0.75, 60.0)])
def test_profile_point_is_the_scale_maximum_of_the_public_law(name, cls, gamma, kappa):
    y = np.sort(htmp_eigvals(600, gamma=gamma, kappa=kappa, rng=3))
    if cls is htmp.InverseHTMP:
        y = np.sort(1.0 / y)
    prof = Profile(cls is htmp.InverseHTMP, y, gamma)
    k = round(math.log(kappa) / FINE)
    ll = prof(k)
    scale = prof.cache[k][1]
    kap = math.exp(prof.u(k))
    # the reported log-likelihood is that of the public law at the reported scale
    public = float(np.sum(cls(gamma=gamma, kappa=kap, scale=scale).logpdf(y)))
    assert ll == pytest.approx(public, abs=1e-8 * abs(public))

    # and no scale does better: bounded Brent on the public law to 1e-9 in log scale
    def nll(ls):
        return -float(np.sum(cls(gamma=gamma, kappa=kap, scale=math.exp(ls)).logpdf(y)))
    r = minimize_scalar(nll, bounds=(math.log(scale) - 0.3, math.log(scale) + 0.3),
                        method="bounded", options={"xatol": 1e-9})
    assert ll >= -r.fun - 1e-7
    assert math.log(scale) == pytest.approx(float(r.x), abs=1e-4)


def test_fit_reports_the_best_of_the_points_it_evaluated():
    y = htmp_eigvals(1500, gamma=0.5, kappa=2.0, rng=11)
    f = htmp.fit_htmp(y, gamma=0.5)
    assert f.gamma == 1500 / 3001            # gamma_eff = N/(M+1), N = 1500, M = N/gamma
    prof = Profile(False, np.sort(y), f.gamma)
    around = [prof(round(math.log(f.kappa) / FINE) + d) for d in (-5, 0, 5)]
    assert f.loglik >= max(around) - 1e-6     # profile values converge to ~1e-9 n (Newton)
    assert f.status == "ok" and f.kappa == pytest.approx(2.0, rel=0.1)


@pytest.mark.parametrize("inverse", [False, True])
def test_truncated_censored_profile_is_the_public_conditional_likelihood(inverse):
    """With spikes cut off above and zeros censored below, the profile value is
    sum log f(y) + n0 log P(Y <= tol) - (n + n0) log P(Y <= cut) of the public law at the
    reported scale, and no scale does better (brute force)."""
    cls = htmp.InverseHTMP if inverse else htmp.HTMP
    gamma, kappa, n0 = 0.5, 1.5, 7
    y = np.sort(htmp_eigvals(500, gamma=gamma, kappa=kappa, rng=5))
    if inverse:
        y = np.sort(1.0 / y)
    cut = 0.5 * (y[-11] + y[-10])
    kept = y[:-10]
    tol = float(kept[0]) * 0.3
    prof = Profile(inverse, kept, gamma, cut=cut, n_below=n0, tol=tol)
    k = round(math.log(kappa) / FINE)
    ll, scale = prof(k), prof.cache[k][1]
    kap = math.exp(prof.u(k))

    def public(s):
        law = cls(gamma=gamma, kappa=kap, scale=s)
        return float(np.sum(law.logpdf(kept)) + n0 * math.log(law.cdf(tol))
                     - (len(kept) + n0) * math.log(law.cdf(cut)))
    assert ll == pytest.approx(public(scale), abs=1e-7 * abs(ll))
    r = minimize_scalar(lambda ls: -public(math.exp(ls)),
                        bounds=(math.log(scale) - 0.3, math.log(scale) + 0.3),
                        method="bounded", options={"xatol": 1e-9})
    assert ll >= -r.fun - 1e-6 and math.log(scale) == pytest.approx(float(r.x), abs=1e-4)
    # the KS of a fit uses the law conditioned on tol < Y <= cut
    F = cls(gamma=gamma, kappa=kap, scale=scale).cdf
    np.testing.assert_allclose(prof.conditional_cdf(k, kept),
                               (F(kept) - F(tol)) / (F(cut) - F(tol)), atol=1e-10)


def test_logpdf_derivatives_match_finite_differences():
    t = kummer_table(1.1, 0.7)
    x = np.geomspace(t.x0[0] * 1.01, t.x0[-1] * 0.99, 300)
    lf, d1, d2 = t.logpdf_derivatives(x)
    np.testing.assert_allclose(lf, t.logpdf(x), rtol=0, atol=1e-13 * np.max(np.abs(lf)))
    h = 1e-4      # central differences in log x: d/dlogx = x f', d2/dlogx2 = x f' + x^2 f''
    up, mid, dn = t.logpdf(x * math.exp(h)), t.logpdf(x), t.logpdf(x * math.exp(-h))
    np.testing.assert_allclose(d1, (up - dn) / (2 * h), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d1 + d2, (up - 2 * mid + dn) / h ** 2, rtol=1e-4, atol=1e-3)
    assert t.logpdf_derivatives(np.array([t.x0[-1] * 2])) is None   # outside: no answer


@pytest.mark.parametrize("alpha, c", [(1.1, 0.7), (-0.55, 0.15), (149.0, 50.0), (0.96, 0.025)])
def test_bulk_table_is_the_full_table_cut_short(alpha, c):
    full, bulk = kummer_table(alpha, c), bulk_table(alpha, c)
    assert bulk.partial and not full.partial
    assert full.x0[0] <= bulk.x0[0] and bulk.x0[-1] <= full.x0[-1]
    assert len(bulk.x0) < len(full.x0)
    x = np.geomspace(bulk.x0[0], bulk.x0[-1], 500)
    np.testing.assert_allclose(bulk.logpdf(x), full.logpdf(x), rtol=1e-12, atol=1e-12)
    # the CDF is off by at most the mass left outside the bulk range (< e^-30)
    Fb, Sb = bulk.cdf_sf(x)
    Ff, Sf = full.cdf_sf(x)
    assert np.max(np.abs(Fb - Ff)) < 1e-12 and np.max(np.abs(Sb - Sf)) < 1e-12
    # its own centres too (the bulk walk takes longer steps: phase cap 2.5 instead of 1.5)
    inner = bulk.x0[(bulk.x0 > full.x0[0]) & (bulk.x0 < full.x0[-1])]
    np.testing.assert_allclose(bulk.logpdf(inner), full.logpdf(inner), rtol=1e-12, atol=1e-12)
    assert build_table(alpha, c).partial is False


def test_most_values_below_the_zero_tolerance_are_reported():
    # an inverse spectrum spanning 1e21: the eigvalsh-style tolerance n eps max sets most of
    # it aside; the fit says so instead of silently describing the largest values only
    y = htmp_eigvals(2000, gamma=0.5, kappa=0.3, rng=1)
    t = 1.0 / y
    f = htmp.fit_inverse_htmp(t, gamma=0.5)
    assert f.n_zero > f.n_used and "censored" in f.message
    g = htmp.fit_invgamma(t)
    assert g.n_zero > g.n_used and "zero tolerance" in g.message
    ok = htmp.fit_htmp(y, gamma=0.5)          # the spectrum itself: a few (27) set aside
    assert 0 < ok.n_zero < ok.n_used and ok.message == ""


@pytest.mark.parametrize("cut", [None, "spikes"])
def test_warm_start_gives_the_cold_maximum(cut):
    """A grid point evaluated after its neighbours (Newton from their scale) has the same
    profile value and scale as on a fresh profile (9-point grid first)."""
    y = np.sort(htmp_eigvals(400, gamma=0.5, kappa=3.0, rng=8))
    kw = dict(cut=0.5 * (y[-6] + y[-5])) if cut else {}
    ys = y[:-5] if cut else y
    k = round(math.log(3.0) / FINE)
    warm = Profile(False, ys, 0.5, **kw)
    for j in (k - 20, k - 5):
        warm(j)
    cold = Profile(False, ys, 0.5, **kw)
    assert warm(k) == pytest.approx(cold(k), abs=1e-6)      # Newton stops at steps < 1e-3
    assert warm.cache[k][1] == pytest.approx(cold.cache[k][1], rel=1e-6)
