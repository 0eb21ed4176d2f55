"""Prop 5.1 (htmp.theory.scaling): the paper's exponent, the limiting ridge loss and the simulator.

References: the limiting loss is compared with mpmath closed forms at 40-60 digits (the derivative
of the Stieltjes transform G(z) = -U(c+1, 1-alpha, -z)/U(c, -alpha, -z), MATH.md §2.4, via
U'(a, b, x) = -a U(a+1, b+1, x)) and with mpmath quadrature of the density (MATH.md §2.1) at
20 digits; its small-mu behaviour with closed-form asymptotes (MATH.md §2.7); the simulator with
a brute-force ridge solve built inside the test and with the exponents of MATH.md §8.
"""
import math

import mpmath as mp
import numpy as np
import pytest

from htmp.laws import HTMP, TrinhTrinh
from htmp.laws.htmp_law import raw_params
from htmp.theory.scaling import (
    paper_exponent,
    predicted_exponent,
    ridge_loss,
    ridge_loss_theory,
    simulate_ridge,
)


def _mp_mprime_raw(a, c, u):
    """m'(-u) = integral f/(x+u)^2 = -d/du U(c+1,1-a,u)/U(c,-a,u) for nu_{a,c} (mpmath)."""
    u0, u1, u2 = mp.hyperu(c, -a, u), mp.hyperu(c + 1, 1 - a, u), mp.hyperu(c + 2, 2 - a, u)
    return ((c + 1) * u2 * u0 - c * u1 ** 2) / u0 ** 2


def mp_loss(gamma, kappa, mu, law):
    """mu^2 m'(-mu) for standardised HTMP (Y = s X) or inverse HTMP (T = 1/Y), mpmath at 60 digits.

    Inverse: integral dF_T/(t+mu)^2 = mu^-2 [1 - 2 v m_X(-v) + v^2 m_X'(-v)], v = 1/(s mu)
    (expand x^2/(x+v)^2); the cancellation costs ~2 log10(v) of the 60 digits.
    """
    a, c, s = raw_params(gamma, kappa)
    with mp.workdps(60):
        a, c, s, mu = mp.mpf(a), mp.mpf(c), mp.mpf(s), mp.mpf(mu)
        if law == "htmp":
            return float(mu ** 2 * _mp_mprime_raw(a, c, mu / s) / s ** 2)
        v = 1 / (s * mu)
        m = mp.hyperu(c + 1, 1 - a, v) / mp.hyperu(c, -a, v)
        return float(1 - 2 * v * m + v ** 2 * _mp_mprime_raw(a, c, v))


GRID = [(0.5, 1.0), (0.5, 3.0), (0.2, 0.5), (0.3, 0.6), (0.5, 10.0), (0.9, 0.1), (0.05, 0.2),
        pytest.param(0.25, 40.0, marks=pytest.mark.slow)]     # mpmath takes ~4 s there


@pytest.mark.parametrize("law", ["htmp", "inverse_htmp"])
@pytest.mark.parametrize("gamma, kappa", GRID)
def test_loss_matches_mpmath_closed_form(gamma, kappa, law):
    mu = np.logspace(-8, 2, 6)
    got = ridge_loss_theory(mu, gamma=gamma, kappa=kappa, law=law)
    ref = [mp_loss(gamma, kappa, m, law) for m in mu]
    # measured agreement 1e-15 .. 1.3e-14 on this grid (the law's pdf is good to ~1e-14)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)


def test_loss_matches_mpmath_quadrature_of_the_density():
    gamma, kappa, mu = 0.5, 3.0, 1e-3
    a, c, s = raw_params(gamma, kappa)
    with mp.workdps(20):
        a, c, s = mp.mpf(a), mp.mpf(c), mp.mpf(s)
        norm = mp.gamma(c + 1) * mp.gamma(c + a + 1)

        def density(y):                               # MATH.md §2.1, Y = s X
            x = y / s
            u = mp.hyperu(c, -a, x * mp.exp(-1j * mp.pi))
            return x ** a * mp.exp(-x) / (norm * abs(u) ** 2) / s

        m = mp.mpf(mu)
        ref = m ** 2 * mp.quad(lambda y: density(y) / (y + m) ** 2, [0, m, 10 * m, 1, 5, mp.inf])
    assert ridge_loss_theory(mu, gamma=gamma, kappa=kappa) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("gamma, kappa", [(0.5, 1.0), (0.3, 0.6), (0.5, 3.0), (0.2, 0.5)])
def test_small_mu_asymptote_below_alpha_one(gamma, kappa):
    # f_Y(y) ~ C0 y^alpha (MATH.md §2.7) gives L ~ C0 Gamma(1+alpha) Gamma(1-alpha) mu^(alpha+1)
    a, c, s = raw_params(gamma, kappa)
    c0 = math.gamma(c + a + 1) / (math.gamma(c + 1) * math.gamma(a + 1) ** 2) * s ** (-a - 1)
    mu = 1e-12
    expected = c0 * math.gamma(1 + a) * math.gamma(1 - a) * mu ** (a + 1)
    # relative corrections are O(mu^(1-alpha)) <= 1e-6 here
    assert ridge_loss_theory(mu, gamma=gamma, kappa=kappa) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("gamma, kappa, law", [(0.5, 6.0, "htmp"), (0.25, 40.0, "htmp"),
                                               (0.5, 1.0, "inverse_htmp"),
                                               (0.3, 0.6, "inverse_htmp")])
def test_small_mu_asymptote_above_alpha_one(gamma, kappa, law):
    # L ~ mu^2 E[1/Y^2]: E[Y^-2] = s^-2 E[X^-2] (TrinhTrinh.inverse_moment) for HTMP,
    # E[T^-2] = E[Y^2] = m2 = 1 + gamma + 2 gamma/kappa (MATH.md §2.2) for the inverse law
    a, c, s = raw_params(gamma, kappa)
    if law == "htmp":
        inv2 = float(TrinhTrinh(alpha=a, c=c).inverse_moment(2)) / s ** 2
    else:
        inv2 = 1 + gamma + 2 * gamma / kappa
    mu = 1e-9
    assert ridge_loss_theory(mu, gamma=gamma, kappa=kappa, law=law) / mu ** 2 == \
        pytest.approx(inv2, rel=1e-6)


@pytest.mark.parametrize("law", ["htmp", "inverse_htmp"])
def test_loss_is_increasing_bounded_and_vectorised(law):
    mu = np.logspace(-6, 6, 25)
    L = ridge_loss_theory(mu, gamma=0.4, kappa=2.0, law=law)
    assert np.all(np.diff(L) > 0) and np.all((L > 0) & (L < 1))
    assert L[-1] == pytest.approx(1.0, abs=1e-5)          # 1 - L ~ 2 E[x]/mu = 2e-6
    one = ridge_loss_theory(float(mu[7]), gamma=0.4, kappa=2.0, law=law)
    assert isinstance(one, float) and one == pytest.approx(L[7], rel=1e-13)
    assert ridge_loss_theory(mu.reshape(5, 5), gamma=0.4, kappa=2.0, law=law).shape == (5, 5)


def test_local_slope_tends_to_the_reconstructed_exponent():
    # d log L / d log mu at tiny mu against min(alpha + 1, 2) (ell = 1 in predicted_exponent)
    for gamma, kappa, law in [(0.5, 1.0, "htmp"), (0.2, 0.5, "htmp"), (0.5, 10.0, "htmp"),
                              (0.5, 1.0, "inverse_htmp")]:
        L = ridge_loss_theory(np.array([1e-11, 1e-10]), gamma=gamma, kappa=kappa, law=law)
        slope = math.log(L[1] / L[0]) / math.log(10.0)
        assert slope == pytest.approx(predicted_exponent(gamma, kappa, 0.999999, law=law),
                                      abs=2e-3)


def test_paper_exponent_formula():
    # the paper's exponent ell (2 + kappa/(2 gamma) - kappa/2), by hand
    assert paper_exponent(0.5, 1.0, 0.5) == pytest.approx(0.5 * (2 + 1.0 - 0.5))
    assert paper_exponent(1.0, 3.0, 0.25) == pytest.approx(0.5)     # gamma = 1 allowed
    g, k, ell = np.meshgrid([0.1, 0.5, 0.9], [0.5, 2.0, 8.0], [0.2, 0.7])
    np.testing.assert_allclose(paper_exponent(g, k, ell), ell * (2 + k / (2 * g) - k / 2))
    # it exceeds the reconstruction by exactly 2 ell where alpha + 1 <= 2 (MATH.md §8)
    assert paper_exponent(0.5, 1.0, 0.3) - predicted_exponent(0.5, 1.0, 0.3) == pytest.approx(0.6)


def test_predicted_exponent_values():
    assert predicted_exponent(0.5, 1.0, 0.5) == pytest.approx(0.25)     # alpha + 1 = 0.5
    assert predicted_exponent(0.5, 6.0, 0.5) == pytest.approx(1.0)      # alpha + 1 = 3 -> 2
    assert predicted_exponent(0.5, 1.0, 0.5, law="inverse_htmp") == pytest.approx(1.0)
    out = predicted_exponent(np.array([0.2, 0.5]), 0.5, np.array([[0.5], [0.25]]))
    # gamma = 0.2: alpha + 1 = 1.25 - 0.25 = 1; gamma = 0.5: 0.5 - 0.25 = 0.25
    np.testing.assert_allclose(out, [[0.5, 0.125], [0.25, 0.0625]])


def test_ridge_loss_matches_a_brute_force_ridge_solve():
    # build data X (n x p) whose Gram S = X^T X / n has given eigenvalues, labels y = X theta,
    # solve ridge normally, and compare ||theta_hat - theta||^2 with the eigenbasis formula
    rng = np.random.default_rng(0)
    n, p = 120, 40
    eigs = HTMP(gamma=0.5, kappa=1.0).rvs(p, rng=rng)
    Q = np.linalg.qr(rng.standard_normal((n, p)))[0]
    O = np.linalg.qr(rng.standard_normal((p, p)))[0]
    X = math.sqrt(n) * Q @ np.diag(np.sqrt(eigs)) @ O.T
    theta = rng.standard_normal(p) / math.sqrt(p)
    y = X @ theta
    for mu in [1e-4, 1e-2, 1.0]:
        theta_hat = np.linalg.solve(X.T @ X / n + mu * np.eye(p), X.T @ y / n)
        brute = float(np.sum((theta_hat - theta) ** 2))
        assert ridge_loss(eigs, O.T @ theta, mu)[0] == pytest.approx(brute, rel=1e-8)


def test_simulator_reproducible_and_close_to_theory():
    kw = dict(gamma=0.5, kappa=1.0, ell=np.array([0.3, 0.6]))
    a = simulate_ridge(20000, rng=1, **kw)
    assert np.array_equal(a, simulate_ridge(20000, rng=1, **kw))
    theory = ridge_loss_theory(20000.0 ** -kw["ell"], gamma=0.5, kappa=1.0)
    # p = 10^4 draws; over 30 seeds the loss / theory had mean 1.004 and 0.998 and standard
    # deviation 0.036 and 0.084 (ell = 0.3, 0.6): 25 % is 3 standard deviations
    np.testing.assert_allclose(a, theory, rtol=0.25)


@pytest.mark.parametrize("gamma, kappa, law, tol", [
    (0.5, 1.0, "htmp", 0.03),          # ell (alpha + 1) = 0.25; this seeded run gives 0.272
    (0.5, 6.0, "inverse_htmp", 0.05),  # 2 ell = 1.0; this seeded run gives 0.986
])
def test_simulated_slope_matches_reconstruction_not_paper(gamma, kappa, law, tol):
    ell = 0.5
    ns = np.array([1000, 4000, 16000, 64000])
    loss = [np.mean([simulate_ridge(int(n), gamma=gamma, kappa=kappa, ell=ell, law=law,
                                    rng=[seed, int(n)]) for seed in range(4)]) for n in ns]
    slope = -np.polyfit(np.log(ns), np.log(loss), 1)[0]
    assert slope == pytest.approx(predicted_exponent(gamma, kappa, ell, law=law), abs=tol)
    assert abs(slope - paper_exponent(gamma, kappa, ell)) > 0.9     # the paper's is 2 ell higher


@pytest.mark.parametrize("call, match", [
    (lambda: ridge_loss_theory(0.0, gamma=0.5, kappa=1.0), r"mu must be finite and in \(0, inf\), got 0.0"),
    (lambda: ridge_loss_theory([1.0, -1.0], gamma=0.5, kappa=1.0), r"mu must be .* got .*-1.0"),
    (lambda: ridge_loss_theory(1.0, gamma=1.5, kappa=1.0), r"gamma must be finite and in \(0, 1\), got 1.5"),
    (lambda: ridge_loss_theory(1.0, gamma=1.0, kappa=1.0), r"gamma must be .*\(0, 1\), got 1.0"),
    (lambda: ridge_loss_theory(1.0, gamma=0.5, kappa=-2.0), r"kappa must be finite and in \(0, inf\), got -2.0"),
    (lambda: ridge_loss_theory(1.0, gamma=0.5, kappa=1.0, law="mp"), r"law must be one of .*got 'mp'"),
    (lambda: paper_exponent(0.0, 1.0, 0.5), r"gamma must be finite and in \(0, 1\], got 0.0"),
    (lambda: paper_exponent(1.2, 1.0, 0.5), r"gamma must be .*\(0, 1\], got 1.2"),
    (lambda: paper_exponent(0.5, 0.0, 0.5), r"kappa must be finite and in \(0, inf\), got 0.0"),
    (lambda: paper_exponent(0.5, 1.0, 1.0), r"ell must be finite and in \(0, 1\), got 1.0"),
    (lambda: predicted_exponent(0.5, 1.0, 0.0), r"ell must be finite and in \(0, 1\), got 0.0"),
    (lambda: predicted_exponent(0.5, 1.0, 0.5, law="x"), r"law must be one of"),
    (lambda: simulate_ridge(100, gamma=0.5, kappa=1.0, ell=1.5), r"ell must be .* got 1.5"),
    (lambda: simulate_ridge(0, gamma=0.5, kappa=1.0, ell=0.5), r"n must be an integer >= 1, got 0"),
    (lambda: simulate_ridge(100, gamma=0.5, kappa=1.0, ell=0.5, p=0), r"p must be an integer >= 1, got 0"),
])
def test_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="n must be an integer"):
        simulate_ridge(100.0, gamma=0.5, kappa=1.0, ell=0.5)
    with pytest.raises(TypeError, match="mu must be a real number"):
        ridge_loss_theory("a", gamma=0.5, kappa=1.0)


def _load_experiment(name):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "experiments" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_scaling_experiment_quick_mode(tmp_path):      # ~1-2 s (CI runs every --quick)
    import pandas as pd

    df = _load_experiment("scaling_law").main(["--quick", "--out", str(tmp_path)])
    saved = pd.read_csv(tmp_path / "scaling_law.csv")
    assert len(saved) == len(df) == 6 and set(saved.law) == {"htmp", "inverse_htmp"}
    np.testing.assert_allclose(saved.paper - saved.predicted,
                               np.where(saved.law == "htmp", 2 * saved.ell, saved.paper - 2 * saved.ell))
    # even this small run separates the two predictions: every simulated slope is nearer ours
    assert ((saved.slope_sim - saved.predicted).abs() < (saved.slope_sim - saved.paper).abs()).all()
    for png in ("scaling_loss_vs_n.png", "scaling_slopes.png"):
        assert (tmp_path / png).stat().st_size > 10_000
